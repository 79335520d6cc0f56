/* A device's reading as it arrives over MQTT: the payload is a JSON object
 * or a msgpack map (the first byte tells them apart) with
 *   series  the series' name, 1..63 bytes           (required)
 *   ts      the sample's own time, unix seconds     (required)
 *   value   the sample, a finite number             (required)
 *   device  the sender, 1..63 bytes                 (default: series)
 *   seq     the device's sequence number, 0..2^53   (optional)
 *   time    when the device sent it, unix seconds   (optional)
 * or the device's end marker {"device": D, "end": true, "count": N}: it
 * numbered its readings 0..N-1. Other fields are ignored (devices may
 * say more); a field given twice, of the wrong type or out of range makes
 * the payload malformed. */
#ifndef ET_READING_H
#define ET_READING_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

/* Largest payload accepted; a reading is well under 200 bytes. */
#define ET_READING_PAYLOAD_MAX 4096
/* Longest device and series names, in bytes (preprocess's bound). */
#define ET_READING_NAME_MAX 63
/* Highest sequence number or count: exact in a JSON double. */
#define ET_READING_SEQ_MAX (1ULL << 53)

typedef struct {
    int end; /* the end marker */
    char device[ET_READING_NAME_MAX + 1];
    int has_seq;
    uint64_t seq; /* a reading's; the end marker's count */
    int has_time;
    int64_t time_ns; /* unix ns: the device's send time */
    char series[ET_READING_NAME_MAX + 1];
    double ts;
    double value;
} et_reading_t;

/* Parse the payload 'data' of 'size' bytes into *out. Returns 0, or -1
 * with a one-line reason in 'why' for a malformed payload (too large, not
 * JSON or msgpack, a missing, repeated or ill-typed field, a name too long
 * or with a NUL). Never reads past size. */
int et_reading_parse(const void *data, size_t size, et_reading_t *out,
                     char *why, size_t why_size);

/* The event payload the sensor workflow reads: the map {series, ts,
 * value} (the nab source's own), into 'buf' (cleared first). 0, or -1
 * with errno ENOMEM. */
int et_reading_pack(const et_reading_t *reading, msgpack_sbuffer *buf);

#endif
