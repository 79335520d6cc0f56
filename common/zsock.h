/* ZeroMQ socket helpers: every socket gets the same hygiene (explicit HWMs,
 * small LINGER, ROUTER_MANDATORY on routers, IMMEDIATE on connecting
 * sockets), and multipart messages are sent and received as Eventide
 * frames: [routing id] header body [payload]. */
#ifndef ET_ZSOCK_H
#define ET_ZSOCK_H

#include "common/codec.h"

#include <stddef.h>
#include <zmq.h>

/* Most frames an Eventide message has, routing id included. */
#define ET_FRAMES_MAX 4
/* Most frames of a TASKS or RESULTS message: routing id, header, body and
 * one payload per part. */
#define ET_FRAMES_BATCH_MAX (3 + ET_BATCH_MAX)

/* LINGER on every socket: long enough to flush a final report, short
 * enough that a dead peer never holds up shutdown. */
#define ET_LINGER_MS 500

/* ZMTP-level heartbeat period on every connection (timeout: three). */
#define ET_ZMTP_HEARTBEAT_MS 1000

/* New socket of 'type' with SNDHWM and RCVHWM 'hwm'. Connecting types
 * (DEALER, PUSH, SUB) get IMMEDIATE; ROUTER gets ROUTER_MANDATORY.
 * Returns NULL with errno set. */
void *et_zsock_new(void *ctx, int type, int hwm);

/* Close *sock_p (if not NULL) and set it to NULL. */
void et_zsock_close(void **sock_p);

/* Bind or connect, logging the endpoint and error on failure. 0 or -1. */
int et_zsock_bind(void *sock, const char *endpoint);
int et_zsock_connect(void *sock, const char *endpoint);

/* The endpoint 'sock' was bound to last, with the port the system chose
 * for a "tcp://HOST:*" bind. 0, or -1 with errno. */
int et_zsock_last_endpoint(void *sock, char *buf, size_t size);

/* Write "NAME=ENDPOINT" lines to 'path' through a temporary file renamed
 * over it, so a reader (the launcher, waiting for a process's ports) never
 * sees half a file. 0, or -1 (logged). */
int et_zsock_write_endpoints(const char *path, const char *const *names,
                             const char *const *endpoints, size_t n);

/* Receive one whole multipart message. Frames beyond 'max' are read and
 * discarded, and *too_many is set to 1. Returns the number of frames kept
 * (>= 1; the caller must et_zsock_frames_close them), or -1 with errno
 * (EAGAIN with ZMQ_DONTWAIT and nothing waiting, EINTR, ETERM). */
int et_zsock_recv(void *sock, zmq_msg_t *frames, int max, int *too_many,
                  int flags);

void et_zsock_frames_close(zmq_msg_t *frames, int count);

/* Receive one event from a socket monitor's PAIR (zmq_socket_monitor),
 * without waiting: *event is its number (ZMQ_EVENT_*; 0 for a malformed
 * one). Returns 1, 0 when none waits, or -1 with errno. */
int et_zsock_recv_monitor_event(void *monitor, uint16_t *event);

/* Stop the monitor of 'sock' (zmq_socket_monitor), then close its reader
 * *monitor_p (may be NULL). In this order: libzmq's I/O thread sends each
 * event to the monitor with a blocking send and does not free an event it
 * could not send, so an event with its reader closed waits for the
 * context's end and leaks its address frame. Before closing 'sock'. */
void et_zsock_monitor_close(void *sock, void **monitor_p);

/* Send [route] header(type) [body] [payload] as one multipart message.
 * 'route' may be NULL (no routing frame); 'body' may be NULL (no body
 * frame); 'payload', if not NULL, is sent zero-copy and left empty.
 * Returns 0 or -1 with errno (EAGAIN at HWM with ZMQ_DONTWAIT,
 * EHOSTUNREACH for an unknown route on a ROUTER). A failure part-way
 * never happens: ZeroMQ queues multipart messages atomically. */
int et_zsock_send(void *sock, const zmq_msg_t *route, et_msg_type_t type,
                  const msgpack_sbuffer *body, zmq_msg_t *payload, int flags);

/* Same, with the routing id given as bytes. */
int et_zsock_send_to(void *sock, const void *route, size_t route_len,
                     et_msg_type_t type, const msgpack_sbuffer *body,
                     zmq_msg_t *payload, int flags);

/* Send [route] header(type) body payload[0] .. payload[count - 1] as one
 * multipart message (TASKS, RESULTS): as et_zsock_send_to, each payload
 * sent zero-copy and left empty. */
int et_zsock_send_parts(void *sock, const void *route, size_t route_len,
                        et_msg_type_t type, const msgpack_sbuffer *body,
                        zmq_msg_t *payloads, size_t count, int flags);

#endif
