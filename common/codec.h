/* The wire protocol: message types, their fields, and a msgpack codec for
 * each. Every message is a ZeroMQ multipart message whose frames (after any
 * routing-id frames) are msgpack: a header [version, type], a body (a
 * positional msgpack array), and for EVENT/TASK/RESULT an opaque payload
 * frame that the broker forwards without decoding.
 *
 * Decoders validate everything (sizes, nesting, counts, types, ranges) and
 * return 0, or -1 with errno EPROTO (malformed), EMSGSIZE (too large) or
 * EPROTONOSUPPORT (wrong protocol version). Encoders append to a
 * msgpack_sbuffer and return 0 or -1 (ENOMEM). Thread-safe: no state. */
#ifndef ET_CODEC_H
#define ET_CODEC_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#define ET_PROTOCOL_VERSION 1

/* Size limits. The header and bodies are small; payloads are bounded by the
 * receiver's configuration, never above ET_PAYLOAD_HARD_MAX. */
#define ET_HEADER_MAX 16
#define ET_BODY_MAX 65536
#define ET_PAYLOAD_HARD_MAX (16u << 20)
#define ET_PAYLOAD_DEFAULT_MAX (1u << 20)
#define ET_MSGPACK_MAX_DEPTH 8

#define ET_NAME_MAX 48  /* function, workflow and instance names */
#define ET_TEXT_MAX 160 /* free text: arrival spec, source */
/* Functions and stages of one workflow: a replay of the Azure Functions
 * trace runs one single-stage route per trace function (the 50-function
 * sample and more); the collector keeps as many (ET_AGG_STAGES_MAX). */
#define ET_STATS_FUNCTIONS_MAX 64
#define ET_STAGES_MAX 64 /* stages of one workflow */
/* event_id = producer_id << ET_EVENT_SEQ_BITS | sequence: ids are dense
 * per producer, which common/idset relies on. */
#define ET_EVENT_SEQ_BITS 40

typedef enum {
    ET_MSG_EVENT = 1,    /* producer -> broker: header, event, payload */
    ET_MSG_REJECT = 2,   /* broker -> producer: header, reject */
    ET_MSG_HELLO = 3,    /* producer -> broker -> collector */
    ET_MSG_DONE = 4,     /* producer -> broker -> collector */
    ET_MSG_DONE_ACK = 5, /* broker -> producer: all rejects were sent */
    ET_MSG_TIME_REQ = 6, /* producer or worker -> broker: clock probe */
    ET_MSG_TIME_REP = 7, /* broker -> the prober: its clock's answer */
    ET_MSG_SHED = 8,     /* producer -> broker: events refused at the source */
    ET_MSG_READY = 10,   /* worker -> broker */
    ET_MSG_TASK = 11,    /* broker -> worker: header, task, payload */
    ET_MSG_RESULT = 12,  /* worker -> broker: header, result, payload */
    ET_MSG_HEARTBEAT = 13,
    ET_MSG_DRAIN = 14,     /* broker -> worker: finish in-flight work, leave */
    ET_MSG_BYE = 15,       /* worker -> broker: leaving, nothing in flight */
    ET_MSG_REGISTER = 16,  /* broker -> unknown worker: say READY again */
    ET_MSG_STARTING = 17,  /* worker -> broker: connected, init under way
                              (a READY body: cold_start_ns, init_ns 0) */
    ET_MSG_TASKS = 18,     /* broker -> worker: header, tasks, payload x N */
    ET_MSG_RESULTS = 19,   /* worker -> broker: header, results, output x N */
    ET_MSG_RECORDS = 20,   /* broker -> collector: batch of lifecycle records */
    ET_MSG_USAGE = 21,     /* worker -> collector */
    ET_MSG_STATS = 22,     /* broker -> PUB subscribers and collector */
    ET_MSG_CLOCK = 23,     /* producer or worker -> broker -> collector */
    ET_MSG_WORKFLOW = 24,  /* broker -> collector: the stages it runs */
    ET_MSG_COLLECTED = 25, /* collector -> broker frontend: journaled up to */
    /* Key state handover (docs/architecture.md): header, a state body
     * [key], and for STATE and STATE_PUT one frame of state bytes (at
     * most ET_STATE_MAX; empty: the key has no state). */
    ET_MSG_STATE_GET = 26, /* broker -> old owner: give up a key's state */
    ET_MSG_STATE = 27,     /* old owner -> broker: the key's state */
    ET_MSG_STATE_PUT = 28, /* broker -> new owner: take it (empty: drop
                              whatever you keep for the key) */
    ET_MSG_EVENTS = 29     /* producer -> broker: header, events, payload x N */
} et_msg_type_t;

/* Why an event was rejected or failed. */
typedef enum {
    ET_REASON_NONE = 0,
    ET_REASON_QUEUE_FULL = 1,
    ET_REASON_SHUTTING_DOWN = 2,
    ET_REASON_FUNCTION_ERROR = 3,
    ET_REASON_TIMEOUT = 4,
    ET_REASON_WORKER_LOST = 5,
    ET_REASON_BAD_PAYLOAD = 6,
    ET_REASON_FILTERED = 7, /* on COMPLETED: a stage dropped it on purpose */
    ET_REASON_DEPENDENCY_UNAVAILABLE = 8, /* a service the function calls
                                             (a feature store) was down or
                                             too slow */
    ET_REASON_MAX = 8
} et_reason_t;

/* Result of a function call. */
typedef enum {
    ET_STATUS_OK = 0,
    ET_STATUS_ERROR = 1,       /* the function failed on this event */
    ET_STATUS_FILTERED = 2,    /* the function dropped the event on purpose */
    ET_STATUS_UNAVAILABLE = 3, /* failed: a dependency did not answer in
                                  time (retried like ERROR) */
    ET_STATUS_MAX = 3
} et_status_t;

/* Did this status fail the attempt (ERROR or UNAVAILABLE)? */
static inline int
et_status_failed(int status)
{
    return status == ET_STATUS_ERROR || status == ET_STATUS_UNAVAILABLE;
}

/* Does a STAGE record with this reason stand for a failed attempt (the
 * function answered with a failure)? */
static inline int
et_reason_failed_attempt(int reason)
{
    return reason == ET_REASON_FUNCTION_ERROR ||
           reason == ET_REASON_DEPENDENCY_UNAVAILABLE;
}

/* The reason a failed attempt of this status is retried or failed for. */
static inline et_reason_t
et_status_reason(int status)
{
    return status == ET_STATUS_UNAVAILABLE ? ET_REASON_DEPENDENCY_UNAVAILABLE
                                           : ET_REASON_FUNCTION_ERROR;
}

#define ET_LABEL_NONE (-1)
#define ET_OUTCOME_NONE (-1)

typedef struct {
    uint64_t event_id;
    uint32_t producer_id;
    int64_t intended_ns; /* CLOCK_REALTIME: when the schedule said to send */
    int64_t sent_ns;     /* CLOCK_REALTIME: when it was actually sent */
    int32_t label;       /* ground truth, or ET_LABEL_NONE */
    /* The stage the event enters at, in a workflow whose stages are routes
     * of their own (a trace replay: one route per trace function); 0 for a
     * chain. On the wire as a sixth field when not 0 or when a key
     * follows. */
    uint32_t route;
    /* Affinity key (a 64-bit hash of the event's series or card, set by
     * the producer from its source), or ET_KEY_NONE. On the wire only when
     * set: a seventh field, never 0. The broker keeps it with the event
     * through every stage. */
    uint64_t key;
} et_event_t;

#define ET_KEY_NONE 0

/* A name's key: its hash, never ET_KEY_NONE. */
uint64_t et_codec_key_of(const void *name, size_t size);

typedef struct {
    uint64_t event_id;
    uint8_t reason;   /* et_reason_t */
    int64_t pause_ns; /* > 0: send nothing more for this long (see SHED) */
    /* Events event_id .. event_id + count - 1, all refused for 'reason'
     * (a run of one EVENTS batch); 0 or 1: event_id alone. On the wire a
     * fourth field, 2..ET_BATCH_MAX, only when above 1. */
    uint32_t count;
    /* For queue_full: after the pause, send at most this many events a
     * second for a while (the rest are refused at the source, in SHED
     * batches); 0: no rate. On the wire a fifth field, 1..ET_ADMIT_EPS_MAX,
     * only when set (the count then always present, 1..ET_BATCH_MAX). */
    uint32_t admit_eps;
} et_reject_t;

#define ET_ADMIT_EPS_MAX 1000000000u

/* Most events in one SHED message. */
#define ET_SHED_MAX 2048
#define ET_PAUSE_MAX_NS (10LL * 1000000000LL)

/* Events a producer refused itself while the broker's pause lasted: ids
 * first_event_id, first_event_id + 1, ... (one per entry), each with its
 * intended time and label, all refused for 'reason'. The broker counts
 * them and forwards the message to the collector as it is: one message
 * stands for all their REJECTED records. On the wire the times and labels
 * are two bins of fixed-width little-endian columns (int64 times; int8
 * labels when all fit, else int32), so that a receiver checks a SHED
 * without walking an item per event. */
typedef struct {
    uint32_t producer_id;
    uint8_t reason; /* et_reason_t */
    uint64_t first_event_id;
    uint32_t count; /* 0..ET_SHED_MAX */
    int64_t intended_ns[ET_SHED_MAX];
    int32_t label[ET_SHED_MAX];
} et_shed_t;

typedef struct {
    uint32_t producer_id;
    char arrival[ET_TEXT_MAX];
    char source[ET_TEXT_MAX];
    double rate_eps;
    double duration_s;
    uint64_t seed;
    int64_t started_ns;
} et_hello_t;

/* What a producer that ingests from outside (MQTT) saw of its input.
 * kind ET_INGEST_NONE: a producer with its own schedule; DONE then
 * carries none of it (the six-field DONE of before). */
typedef enum { ET_INGEST_NONE = 0, ET_INGEST_MQTT = 1 } et_ingest_kind_t;

typedef struct {
    uint8_t kind;        /* et_ingest_kind_t */
    uint64_t received;   /* messages delivered by the MQTT broker */
    uint64_t malformed;  /* skipped: not a valid reading (or too large) */
    uint64_t duplicates; /* skipped: a device's sequence number seen before */
    uint64_t gaps;       /* sequence numbers never received */
    uint64_t reconnects; /* connections to the MQTT broker after the first */
} et_ingest_t;

typedef struct {
    uint32_t producer_id;
    uint64_t sent;        /* events handed to the socket */
    uint64_t send_failed; /* events the socket refused (never sent) */
    int64_t lag_max_ns;   /* how far the producer fell behind schedule */
    int64_t lag_mean_ns;
    int64_t finished_ns;
    et_ingest_t ingest; /* on the wire only when kind is not NONE */
} et_done_t;

typedef struct {
    char function[ET_NAME_MAX];
    char instance[ET_NAME_MAX];
    uint32_t pid;
    uint32_t slots;
    int64_t cold_start_ns; /* process start to READY */
    int64_t init_ns;       /* the function's own init, part of cold start */
} et_ready_t;

typedef struct {
    uint64_t event_id;
    uint32_t stage;
    uint32_t attempt;
    int64_t intended_ns;
    int32_t label;
} et_task_t;

/* Parts of a function's service time that the function measured itself,
 * by name from a small fixed list (a wire index each, so a result carries
 * two integers per part): the feature store's round trips, the model's
 * prediction. The collector reports each stage's spread of each. */
typedef enum {
    ET_TIMING_STORE = 0, /* "store": a state or feature store's round trips */
    ET_TIMING_MODEL = 1, /* "model": a model's prediction */
    ET_TIMING_KINDS = 2
} et_timing_kind_t;

/* What a stage reports besides its verdict, on RESULT and on STAGE and
 * COMPLETED records; all zero: nothing. A shadow verdict is a second
 * model's (the fraud workflow's model of raw features only), decided and
 * scored like the verdict but acted on by nobody. Timings are parts of
 * service_ns, each 0..service_ns. */
typedef struct {
    uint8_t has_shadow;     /* 1: shadow_outcome is set */
    int32_t shadow_outcome; /* >= 0 when has_shadow */
    uint8_t timed;          /* bit k: timing_ns[k] was measured */
    int64_t timing_ns[ET_TIMING_KINDS];
} et_detail_t;

/* The name of a timing kind ("store", "model"), or NULL. */
const char *et_codec_timing_name(int kind);

typedef struct {
    uint64_t event_id;
    uint32_t stage;
    uint32_t attempt;
    uint8_t status; /* et_status_t */
    int64_t service_ns;
    int32_t outcome; /* the function's verdict for accuracy, or NONE */
    double score;    /* model score where there is one, else 0 */
    /* On the wire as two more fields (shadow outcome or -1, and an array
     * of [kind, ns] pairs) only when not all zero. */
    et_detail_t detail;
} et_result_t;

/* Batches: TASKS carries 2..ET_BATCH_MAX tasks for one worker in one
 * message, RESULTS as many results; each part's payload is a frame of its
 * own after the body, in the body's order, so payloads still move without
 * a copy. A batch of two or more parts carries at most ET_BATCH_BYTES_MAX
 * payload bytes in all (one part may be as large as any payload: a single
 * large one travels alone, as TASK or RESULT). */
#define ET_BATCH_MAX 64
#define ET_BATCH_BYTES_MAX (1u << 20)

/* 1 when 'count' parts (1..ET_BATCH_MAX) with 'bytes' payload bytes in
 * all may travel as one message, else 0. */
int et_codec_batch_fits(size_t count, uint64_t bytes);

typedef enum {
    ET_RECORD_ACCEPTED = 1,
    ET_RECORD_REJECTED = 2,
    ET_RECORD_STAGE = 3,
    ET_RECORD_COMPLETED = 4,
    ET_RECORD_FAILED = 5,
    ET_RECORD_RETRY = 6,
    /* ACCEPTED, one STAGE and COMPLETED of one event in one record: the
     * STAGE's fields, the completion's t_ns and reason (common/served.h) */
    ET_RECORD_SERVED = 7,
    ET_RECORD_MAX = 7
} et_record_kind_t;

/* One lifecycle transition. Fields a kind does not use are zero. */
/* A STAGE record's cold flag. An attempt is a cold start (COLD_START) when
 * no instance of its function was serving when it arrived (or when the
 * last one left while it waited) and no start was already pending for
 * another event: one had to be started for it. Events that came while
 * that start was pending waited behind it (COLD_WAIT). Nonzero: the event
 * waited for an instance to start. */
#define ET_COLD_NONE 0
#define ET_COLD_WAIT 1
#define ET_COLD_START 2

typedef struct {
    uint8_t kind; /* et_record_kind_t */
    uint64_t event_id;
    uint32_t producer_id;
    uint32_t stage;
    uint32_t attempt;
    int64_t intended_ns;
    int64_t t_ns;       /* CLOCK_REALTIME of the transition */
    int64_t queue_ns;   /* STAGE: this attempt's wait in the stage's queue */
    int64_t service_ns; /* STAGE: time inside the function */
    int32_t label;      /* ACCEPTED */
    int32_t outcome;    /* STAGE, COMPLETED */
    /* REJECTED, FAILED, RETRY, COMPLETED (FILTERED), and STAGE: FUNCTION_ERROR
     * when the function failed on this attempt */
    uint8_t reason;
    uint8_t cold; /* STAGE: ET_COLD_* (0 warm) */
    double score; /* STAGE, COMPLETED */
    /* Broker monotonic clock. STAGE: the TASK's dispatch to its RESULT
     * processed (the time the attempt held its slot). RETRY and FAILED: the
     * hold of an attempt given up without a result (timeout, worker lost,
     * still in flight at the drain's end), dispatch to that decision; 0
     * when the attempt had a result or was never dispatched. */
    int64_t hold_ns;
    /* STAGE: first enqueue in this stage (retries included) to this
     * result. */
    int64_t residence_ns;
    /* STAGE: the result's; COMPLETED: the shadow verdict that came with
     * the event's verdict. Two more fields on the wire, as on RESULT,
     * only when not all zero. */
    et_detail_t detail;
} et_record_t;

typedef struct {
    char function[ET_NAME_MAX];
    char instance[ET_NAME_MAX];
    uint32_t pid;
    uint32_t slots;
    int64_t started_ns;    /* CLOCK_REALTIME: process start */
    int64_t cold_start_ns; /* 0 until READY */
    int64_t init_ns;
    int64_t lifetime_ns; /* start to this report */
    int64_t busy_ns;     /* sum over slots of time inside the function */
    int64_t cpu_ns;      /* CLOCK_PROCESS_CPUTIME_ID */
    uint64_t served;
    uint64_t errors;
    uint8_t final; /* 1 on the last report before exit */
} et_usage_t;

typedef struct {
    char name[ET_NAME_MAX];
    uint32_t queue_depth;
    uint32_t queue_cap;
    uint32_t instances;
    uint32_t slots_total;
    uint32_t slots_busy;
    uint64_t completed; /* stage completions so far */
    /* Since the broker started (cumulative; readers take differences):
     * jobs that entered the function's queue (retries included), and the
     * integrals over CLOCK_MONOTONIC of its busy slots, its registered
     * workers' slots and its registered workers, up to the instant of t_ns.
     * The integrals wrap modulo 2^64. */
    uint64_t arrived;
    uint64_t busy_slot_ns;
    uint64_t serving_slot_ns;
    uint64_t instance_ns;
} et_stats_function_t;

typedef struct {
    int64_t t_ns;
    char workflow[ET_NAME_MAX];
    uint64_t accepted;
    uint64_t rejected;
    uint64_t completed;
    uint64_t failed;
    uint64_t retries;
    uint64_t in_flight;
    uint64_t bad_messages;
    uint64_t stale_results;   /* late results of abandoned attempts */
    uint64_t records_dropped; /* lifecycle records the collector never got */
    /* Key state handover (broker/engine.h): on the wire only when either
     * is not 0, as the 13th and 14th fields (after the functions). */
    uint64_t key_handovers;
    uint64_t key_state_lost;
    uint32_t n_functions;
    et_stats_function_t functions[ET_STATS_FUNCTIONS_MAX];
} et_stats_t;

/* Clock probes (NTP-style, the broker's clock is the reference): t1 when
 * the prober sent TIME_REQ, t2 when the broker read it, t3 when the broker
 * answered, all CLOCK_REALTIME of the clock that read them. */
typedef struct {
    uint32_t seq;
    int64_t t1_ns;
} et_time_req_t;

typedef struct {
    uint32_t seq;
    int64_t t1_ns; /* echoed */
    int64_t t2_ns;
    int64_t t3_ns;
} et_time_rep_t;

typedef enum {
    ET_CLOCK_ROLE_PRODUCER = 1,
    ET_CLOCK_ROLE_WORKER = 2,
    ET_CLOCK_ROLE_MAX = 2
} et_clock_role_t;

/* Offsets and round trips beyond a day are refused: far beyond any clock
 * worth correcting, and every sum of them stays in range. */
#define ET_CLOCK_OFFSET_MAX_NS (86400LL * 1000000000LL)

/* One process's latest estimate of its clock's offset to the broker's:
 * broker clock = its clock + offset_ns, within +/- bound_ns. */
typedef struct {
    uint8_t role;           /* et_clock_role_t */
    char name[ET_NAME_MAX]; /* "producer-<id>" or the worker's instance */
    char host[ET_NAME_MAX]; /* the host it runs on (gethostname) */
    uint32_t producer_id;   /* 0 for workers */
    int64_t offset_ns;
    int64_t bound_ns;      /* half the best probe's round trip */
    int64_t rtt_ns;        /* that round trip, the broker's turnaround out */
    int64_t correction_ns; /* added to the timestamps it sends (0: none) */
    uint32_t samples;      /* answered probes so far */
    uint32_t lost;         /* probes without an answer so far */
    int64_t t_ns;          /* when, on the broker's clock */
} et_clock_report_t;

/* The workflow the broker loaded, as the collector names it in the
 * results: its name and each stage's function, in order (a function may
 * serve several stages). */
typedef struct {
    char name[ET_NAME_MAX];
    uint32_t n_stages; /* 1..ET_STAGES_MAX */
    char stages[ET_STAGES_MAX][ET_NAME_MAX];
} et_workflow_msg_t;

/* The collector's acknowledgement to the broker: every sequenced message
 * of broker 'epoch' up to 'seq' is in its journal. With 'resume' (1) the
 * broker drops what it keeps up to 'seq' and sends the rest again, in
 * order; a resume for another epoch than the broker's asks for
 * everything it keeps. */
typedef struct {
    uint64_t epoch;
    uint64_t seq;
    uint8_t resume; /* 0 or 1 */
} et_collected_t;

/* The body of STATE_GET, STATE and STATE_PUT: which key (never
 * ET_KEY_NONE). The state itself travels in the frame after the body,
 * opaque to the broker: each function reads and checks its own. */
typedef struct {
    uint64_t key;
} et_state_msg_t;

/* Most bytes of one key's state on the wire. */
#define ET_STATE_MAX 65536

/* The third frame of every message the broker sends the collector: the
 * broker process's epoch and the message's sequence number (from 1).
 * Fixed size, not msgpack: 16 bytes, both big-endian. */
#define ET_SEQ_FRAME_SIZE 16
typedef struct {
    uint64_t epoch;
    uint64_t seq;
} et_seq_t;

/* Write 'seq' into out[ET_SEQ_FRAME_SIZE]. */
void et_codec_encode_seq(unsigned char *out, const et_seq_t *seq);
/* 0, or -1 with errno EPROTO unless 'size' is ET_SEQ_FRAME_SIZE and the
 * epoch and sequence number are not 0. */
int et_codec_decode_seq(const void *data, size_t size, et_seq_t *seq);

/* Check that 'data' holds exactly one msgpack object of at most
 * ET_MSGPACK_MAX_DEPTH nesting whose declared lengths fit in 'size'. This
 * runs before msgpack-c unpacks anything, so a hostile length can never
 * make it allocate. Returns 0 or -1 with errno EPROTO. */
int et_codec_precheck(const void *data, size_t size);

/* Header. */
int et_codec_encode_header(msgpack_sbuffer *buf, et_msg_type_t type);
int et_codec_decode_header(const void *data, size_t size, et_msg_type_t *type);

/* Bodies: one encoder and one decoder per message type. */
int et_codec_encode_event(msgpack_sbuffer *buf, const et_event_t *msg);
int et_codec_decode_event(const void *data, size_t size, et_event_t *msg);
int et_codec_encode_reject(msgpack_sbuffer *buf, const et_reject_t *msg);
int et_codec_decode_reject(const void *data, size_t size, et_reject_t *msg);
int et_codec_encode_hello(msgpack_sbuffer *buf, const et_hello_t *msg);
int et_codec_decode_hello(const void *data, size_t size, et_hello_t *msg);
int et_codec_encode_shed(msgpack_sbuffer *buf, const et_shed_t *msg);
int et_codec_decode_shed(const void *data, size_t size, et_shed_t *msg);
/* Whether a decoded SHED's ids are its producer's own and stay within its
 * sequence space (both ends count them without looking further). */
int et_codec_shed_ids_valid(const et_shed_t *msg);
int et_codec_encode_done(msgpack_sbuffer *buf, const et_done_t *msg);
int et_codec_decode_done(const void *data, size_t size, et_done_t *msg);
int et_codec_encode_ready(msgpack_sbuffer *buf, const et_ready_t *msg);
int et_codec_decode_ready(const void *data, size_t size, et_ready_t *msg);
int et_codec_encode_task(msgpack_sbuffer *buf, const et_task_t *msg);
int et_codec_decode_task(const void *data, size_t size, et_task_t *msg);
int et_codec_encode_result(msgpack_sbuffer *buf, const et_result_t *msg);
int et_codec_decode_result(const void *data, size_t size, et_result_t *msg);
/* TASKS and RESULTS bodies: an array of 1..ET_BATCH_MAX task (result)
 * arrays, each exactly as a TASK's (RESULT's) body. Encoders refuse 0 or
 * more than ET_BATCH_MAX (EINVAL). Decoders take up to 'max' (at most
 * ET_BATCH_MAX) into the array and set *count; more than 'max' is
 * EMSGSIZE, none or any malformed part EPROTO, and then *count is 0:
 * nothing of a bad batch is used. */
int et_codec_encode_tasks(msgpack_sbuffer *buf, const et_task_t *tasks,
                          size_t count);
int et_codec_decode_tasks(const void *data, size_t size, et_task_t *tasks,
                          size_t max, size_t *count);
int et_codec_encode_results(msgpack_sbuffer *buf, const et_result_t *results,
                            size_t count);
int et_codec_decode_results(const void *data, size_t size, et_result_t *results,
                            size_t max, size_t *count);
/* EVENTS body: an array of 1..ET_BATCH_MAX event arrays, each exactly as
 * an EVENT's body (the same checks per event), one payload frame per
 * event after the body, in order; same contract as TASKS. */
int et_codec_encode_events(msgpack_sbuffer *buf, const et_event_t *events,
                           size_t count);
int et_codec_decode_events(const void *data, size_t size, et_event_t *events,
                           size_t max, size_t *count);
int et_codec_encode_usage(msgpack_sbuffer *buf, const et_usage_t *msg);
int et_codec_decode_usage(const void *data, size_t size, et_usage_t *msg);
int et_codec_encode_stats(msgpack_sbuffer *buf, const et_stats_t *msg);
int et_codec_decode_stats(const void *data, size_t size, et_stats_t *msg);
int et_codec_encode_time_req(msgpack_sbuffer *buf, const et_time_req_t *msg);
int et_codec_decode_time_req(const void *data, size_t size, et_time_req_t *msg);
int et_codec_encode_time_rep(msgpack_sbuffer *buf, const et_time_rep_t *msg);
int et_codec_decode_time_rep(const void *data, size_t size, et_time_rep_t *msg);
int et_codec_encode_clock(msgpack_sbuffer *buf, const et_clock_report_t *msg);
int et_codec_decode_clock(const void *data, size_t size,
                          et_clock_report_t *msg);
int et_codec_encode_workflow(msgpack_sbuffer *buf,
                             const et_workflow_msg_t *msg);
int et_codec_decode_workflow(const void *data, size_t size,
                             et_workflow_msg_t *msg);

int et_codec_encode_collected(msgpack_sbuffer *buf, const et_collected_t *msg);
int et_codec_decode_collected(const void *data, size_t size,
                              et_collected_t *msg);

int et_codec_encode_state(msgpack_sbuffer *buf, const et_state_msg_t *msg);
/* EPROTO also for key ET_KEY_NONE. */
int et_codec_decode_state(const void *data, size_t size, et_state_msg_t *msg);

/* Records travel in batches: the body is an array of records. */
int et_codec_encode_records(msgpack_sbuffer *buf, const et_record_t *records,
                            size_t count);
/* Decode up to 'max' records into 'records'; more than 'max' is EMSGSIZE.
 * Sets *count. */
int et_codec_decode_records(const void *data, size_t size, et_record_t *records,
                            size_t max, size_t *count);

/* Names for logs and reports. */
const char *et_codec_type_name(et_msg_type_t type);
const char *et_codec_reason_name(et_reason_t reason);

#endif
