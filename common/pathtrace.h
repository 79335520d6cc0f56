/* Path trace: the instants one event passes fixed points on its way
 * through the processes (producer, broker, worker), for bench/path.sh.
 * With EVENTIDE_PATH_TRACE=DIR in its environment, a process records
 * (point, CLOCK_MONOTONIC ns) at each point it passes and writes them to
 * DIR/PID.path when it exits; without it, a point costs one branch. The
 * points carry no event id: the tool is meant for light load, one event
 * in flight, and bench/path.sh orders the points of all the processes by
 * time (CLOCK_MONOTONIC is one clock for the processes of one host). */
#ifndef ET_PATHTRACE_H
#define ET_PATHTRACE_H

#include <stdint.h>

/* In the order an event meets them; bench/path.sh knows these numbers. */
typedef enum {
    ET_PATH_PRODUCER_WOKE = 1,   /* the producer's wait for a send ended */
    ET_PATH_PRODUCER_SENDING,    /* the message is built; zmq_send next */
    ET_PATH_PRODUCER_SENT,       /* zmq_send returned */
    ET_PATH_BROKER_WOKE,         /* the broker's poll returned (for an event) */
    ET_PATH_BROKER_EVENT,        /* the EVENT is decoded */
    ET_PATH_BROKER_ADMITTED,     /* the engine admitted it */
    ET_PATH_BROKER_TASK_SENDING, /* dispatched: the TASK is built, sent */
    ET_PATH_BROKER_TASK_SENT,    /* the TASK's zmq_send returned */
    ET_PATH_WORKER_WOKE,         /* the worker's poll returned (for a task) */
    ET_PATH_WORKER_TASK,         /* the TASK is decoded */
    ET_PATH_SLOT_WOKE,           /* a slot thread took the task */
    ET_PATH_FUNCTION_START,      /* the function is called */
    ET_PATH_FUNCTION_END,        /* it returned */
    ET_PATH_RESULT_SENDING,      /* the RESULT is built; zmq_send next */
    ET_PATH_RESULT_SENT,         /* the RESULT's zmq_send returned */
    ET_PATH_BROKER_WOKE_RESULT,  /* the broker's poll returned (for a result) */
    ET_PATH_BROKER_RESULT,       /* the RESULT is read */
    ET_PATH_POINTS
} et_path_point_t;

/* Record 'point' now. */
void et_path_mark(et_path_point_t point);

/* Record 'point' at the instant 't_ns' (CLOCK_MONOTONIC). */
void et_path_mark_at(et_path_point_t point, uint64_t t_ns);

/* A thread's wait returned: keep the instant, so the point that learns
 * what woke it can record it (et_path_mark_woke). */
void et_path_woke(void);

/* Record 'point' at the calling thread's last et_path_woke. */
void et_path_mark_woke(et_path_point_t point);

/* Start recording into DIR/PID.path (a process reads EVENTIDE_PATH_TRACE
 * itself on its first point; tests call this). 0, or -1 with errno when
 * the buffer cannot be had. */
int et_path_open(const char *dir);

/* Write what was recorded to the file and start again: 0, or -1 with
 * errno. Called at exit when recording. */
int et_path_flush(void);

#endif
