/* The publisher behind `eventide sensors`: a NAB series replayed as a
 * device would send it, open loop. Reading i goes out at start + (ts_i -
 * ts_0) / speedup, however late the one before it went out, to the
 * MQTT topic at QoS 1, as {device, seq, time, series, ts, value} (JSON or
 * msgpack; producer/reading.h), 'time' its intended send time. After the
 * last reading it publishes the end marker {device, end: true, count}
 * (count: the sequence numbers it gave out, refused publishes included) and
 * waits until the broker acknowledged everything (or --drain-timeout).
 * libmosquitto's thread holds the connection and reconnects by itself;
 * readings published while the broker is away wait in its queue. */
#ifndef ET_SENSORS_PUBLISHER_H
#define ET_SENSORS_PUBLISHER_H

#include "sensors/config.h"

#include <signal.h>

/* Publish the series; stop early when *stop becomes non-zero (the end
 * marker still goes out, counting what was published). Prints one summary
 * line on stdout. Returns 0, or -1 on a runtime error (no connection to
 * the MQTT broker within --connect-timeout, unacknowledged messages at the
 * end). */
int et_sensors_run(const et_sensors_config_t *cfg, volatile sig_atomic_t *stop);

#endif
