/* Unit tests for collector/checkpoint (the file) and the modules' state
 * saves and loads behind it (et_aggregate_save/_load and each part's):
 * a state loads back to the same results; a file cut short, corrupted,
 * oversized or of another version is refused with a sentence; and a
 * state whose fields are of the wrong type, or whose bytes are flipped
 * anywhere, is refused or loaded, never a crash (run under ASan). */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "aggregate_fixture.h"
#include "collector/checkpoint.h"
#include "collector/report.h"
#include "common/hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_dir[64];

static int
s_setup(void **state)
{
    (void)state;
    snprintf(s_dir, sizeof s_dir, "/tmp/et-test-checkpoint-XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    return 0;
}

static int
s_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s_dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* An aggregate with something in every part: two producers (one done),
 * a workflow, events accepted, rejected, through two stages (one cold),
 * retried, failed and completed, one still in flight, labelled for
 * fraud's accuracy, STATS, USAGE and CLOCK reports. */
static et_aggregate_t *
s_busy(void)
{
    et_aggregate_t *agg = s_new(2);
    et_hello_t h;
    memset(&h, 0, sizeof h);
    h.producer_id = 1;
    snprintf(h.arrival, sizeof h.arrival, "poisson");
    snprintf(h.source, sizeof h.source, "fraud");
    h.rate_eps = 50;
    h.duration_s = 10;
    h.started_ns = T0;
    assert_int_equal(et_aggregate_add_hello(agg, &h), 0);
    s_hello(agg, 2, 20, 10, 3, T0 + S);
    et_workflow_msg_t wf = {.n_stages = 2};
    snprintf(wf.name, sizeof wf.name, "two");
    snprintf(wf.stages[0], sizeof wf.stages[0], "fa");
    snprintf(wf.stages[1], sizeof wf.stages[1], "fb");
    assert_int_equal(et_aggregate_add_workflow(agg, &wf), 0);
    for (uint64_t e = 0; e < 40; e++) {
        uint64_t id = (1ULL << 40) | e;
        int64_t in = T0 + (int64_t)e * 200 * MS;
        et_record_t r =
            s_rec(e % 9 == 4 ? ET_RECORD_REJECTED : ET_RECORD_ACCEPTED, id, 0,
                  in, in + MS);
        r.label = e % 3 == 0;
        assert_int_equal(et_aggregate_add_record(agg, &r), 0);
        if (e % 9 == 4 || e == 39)
            continue; /* rejected, or still in flight */
        for (uint32_t stage = 0; stage < 2; stage++) {
            if (stage == 1 && e % 7 == 2)
                s_add(agg, ET_RECORD_RETRY, id, 1, in, in + 3 * MS);
            r = s_rec(ET_RECORD_STAGE, id, stage, in, in + (4 + stage) * MS);
            r.queue_ns = (int64_t)(e % 5) * MS;
            r.service_ns = 2 * MS;
            r.hold_ns = 3 * MS;
            r.residence_ns = 5 * MS;
            r.cold = e == 0;
            r.outcome = stage == 1 ? (int32_t)(e % 2) : -1;
            assert_int_equal(et_aggregate_add_record(agg, &r), 0);
        }
        r = s_rec(e % 11 == 5 ? ET_RECORD_FAILED : ET_RECORD_COMPLETED, id, 1,
                  in, in + 9 * MS);
        r.reason = e % 11 == 5 ? ET_REASON_TIMEOUT : 0;
        r.label = e % 3 == 0;
        r.outcome = (int32_t)(e % 2);
        assert_int_equal(et_aggregate_add_record(agg, &r), 0);
    }
    const char *names[] = {"fa", "fb"};
    s_stats(agg, T0 + S, names, 2, 3, 2, 1);
    s_stats(agg, T0 + 4 * S, names, 2, 1, 2, 2);
    s_usage(agg, "fa", "fa-1", 2, 5 * S, 2 * S, S, 40 * MS, 0);
    s_usage(agg, "fb", "fb-1", 2, 5 * S, 3 * S, S, 0, 1);
    s_clock(agg, ET_CLOCK_ROLE_PRODUCER, "producer-1", 2 * MS, 100000, MS,
            T0 + S);
    s_clock(agg, ET_CLOCK_ROLE_PRODUCER, "producer-1", 3 * MS, 100000, MS,
            T0 + 3 * S);
    s_clock(agg, ET_CLOCK_ROLE_WORKER, "fa-1", -MS, 50000, 0, T0 + 2 * S);
    s_done(agg, 1, 40, 1, 1000);
    return agg;
}

static msgpack_sbuffer
s_save(const et_aggregate_t *agg)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init(&buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    assert_int_equal(et_aggregate_save(agg, &pk), 0);
    return buf;
}

/* Load 'data' into a new aggregate: 0 (*out set), or -1 with errno. */
static int
s_load(const char *data, size_t size, et_aggregate_t **out)
{
    *out = NULL;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = -1;
    errno = EPROTO;
    if (msgpack_unpack_next(&u, data, size, &off) == MSGPACK_UNPACK_SUCCESS) {
        et_aggregate_t *agg = s_new(2);
        rc = et_aggregate_load(agg, &u.data);
        int saved = errno;
        if (rc == 0)
            *out = agg;
        else
            et_aggregate_destroy(&agg);
        errno = saved;
    }
    msgpack_unpacked_destroy(&u);
    return rc;
}

static char *
s_slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 20];
    *size = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

/* summary.json of 'agg' finished now as complete, into DIR/NAME. */
static char *
s_summary(et_aggregate_t *agg, const char *name, size_t *size)
{
    char dir[128], path[160];
    snprintf(dir, sizeof dir, "%s/%s", s_dir, name);
    et_aggregate_finish(agg, ET_AGG_END_COMPLETE, T0 + 60 * S);
    const et_results_t *r = et_aggregate_results(agg);
    assert_non_null(r);
    assert_int_equal(et_report_prepare_dir(dir), 0);
    assert_int_equal(et_report_write_summary(dir, r), 0);
    snprintf(path, sizeof path, "%s/summary.json", dir);
    size_t n;
    char *text = s_slurp(path, &n);
    char *copy = malloc(n + 1);
    assert_non_null(copy);
    memcpy(copy, text, n);
    copy[n] = '\0';
    *size = n;
    return copy;
}

/* A state saved and loaded gives the same results, and the same state
 * again when saved once more. */
static void
test_checkpoint_state_loads_back_to_the_same_results(void **state)
{
    (void)state;
    et_aggregate_t *a = s_busy();
    msgpack_sbuffer buf = s_save(a);
    et_aggregate_t *b;
    assert_int_equal(s_load(buf.data, buf.size, &b), 0);
    msgpack_sbuffer again = s_save(b);
    assert_int_equal(again.size, buf.size);
    size_t na, nb;
    char *sa = s_summary(a, "a", &na);
    char *sb = s_summary(b, "b", &nb);
    assert_int_equal(na, nb);
    assert_string_equal(sa, sb);
    free(sa);
    free(sb);
    msgpack_sbuffer_destroy(&again);
    msgpack_sbuffer_destroy(&buf);
    et_aggregate_destroy(&a);
    et_aggregate_destroy(&b);
}

/* Another run's state is refused. */
static void
test_checkpoint_state_of_another_run_is_refused(void **state)
{
    (void)state;
    et_aggregate_t *a = s_busy();
    msgpack_sbuffer buf = s_save(a);
    et_aggregate_config_t config = {
        .run_id = "run-2", .workflow = "synthetic", .expect_producers = 2};
    et_aggregate_t *other = et_aggregate_new(&config);
    assert_non_null(other);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    errno = 0;
    assert_int_equal(et_aggregate_load(other, &u.data), -1);
    assert_int_equal(errno, EPROTO);
    msgpack_unpacked_destroy(&u);
    et_aggregate_destroy(&other);
    msgpack_sbuffer_destroy(&buf);
    et_aggregate_destroy(&a);
}

typedef struct {
    size_t tried, refused;
} s_walk_t;

/* A histogram as et_hist_pack writes it: eight integers and the
 * buckets. Its own fields are common/hist's to check (test_hist). */
static int
s_is_hist(const msgpack_object *o)
{
    if (o->via.array.size != 9 ||
        o->via.array.ptr[8].type != MSGPACK_OBJECT_ARRAY)
        return 0;
    for (int i = 0; i < 8; i++)
        if (o->via.array.ptr[i].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return 0;
    return 1;
}

/* Every field of every part, in turn, of the wrong type (a string for
 * anything else, a number for a string): the load refuses it (EPROTO),
 * then the field is put back. Nils (room kept for fields to come) are
 * left alone; a histogram is mistyped whole. */
static void
s_mistype_each(msgpack_object *root, msgpack_object *o, s_walk_t *w)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || s_is_hist(o))
        return;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        msgpack_object *item = &o->via.array.ptr[i];
        if (item->type == MSGPACK_OBJECT_NIL)
            continue;
        msgpack_object kept = *item;
        if (item->type == MSGPACK_OBJECT_STR) {
            item->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            item->via.u64 = 7;
        } else {
            item->type = MSGPACK_OBJECT_STR;
            item->via.str.ptr = "x";
            item->via.str.size = 1;
        }
        et_aggregate_t *agg = s_new(2);
        errno = 0;
        int rc = et_aggregate_load(agg, root);
        w->tried++;
        if (rc == -1 && errno == EPROTO)
            w->refused++;
        else
            print_error("field %u of an array of %u was taken mistyped\n", i,
                        o->via.array.size);
        et_aggregate_destroy(&agg);
        *item = kept;
        s_mistype_each(root, item, w);
    }
}

static void
test_checkpoint_state_refuses_every_mistyped_field(void **state)
{
    (void)state;
    et_aggregate_t *a = s_busy();
    msgpack_sbuffer buf = s_save(a);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    assert_int_equal(msgpack_unpack_next(&u, buf.data, buf.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    s_walk_t w = {0};
    s_mistype_each(&u.data, &u.data, &w);
    print_message("%zu fields mistyped\n", w.tried);
    assert_true(w.tried > 300);
    assert_int_equal(w.refused, w.tried);
    /* And put back, it loads. */
    et_aggregate_t *b = s_new(2);
    assert_int_equal(et_aggregate_load(b, &u.data), 0);
    et_aggregate_destroy(&b);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
    et_aggregate_destroy(&a);
}

/* Bytes flipped anywhere in a state (past the file's checksum, as a
 * hostile file would be): loaded or refused, never a crash. The load
 * always refuses some, and the intact state still loads. */
static void
test_checkpoint_state_with_flipped_bytes_never_crashes(void **state)
{
    (void)state;
    et_aggregate_t *a = s_busy();
    msgpack_sbuffer buf = s_save(a);
    char *copy = malloc(buf.size);
    assert_non_null(copy);
    size_t refused = 0, tried = 0;
    size_t step = buf.size / 200 + 1;
    for (size_t i = 0; i < buf.size; i += step) {
        for (int flip = 0; flip < 2; flip++) {
            memcpy(copy, buf.data, buf.size);
            copy[i] ^= flip ? (char)0xff : (char)0x01;
            et_aggregate_t *b = NULL;
            tried++;
            if (s_load(copy, buf.size, &b) != 0)
                refused++;
            et_aggregate_destroy(&b);
        }
    }
    /* Cut short anywhere: never a whole state. */
    for (size_t n = 0; n < buf.size; n += step) {
        et_aggregate_t *b = NULL;
        assert_int_equal(s_load(buf.data, n, &b), -1);
        assert_null(b);
    }
    /* Most of the state is accuracy's per-window arrays, where any byte
     * is a value: only some flips can be refused. */
    print_message("%zu of %zu flips refused\n", refused, tried);
    assert_true(refused > 0);
    et_aggregate_t *b = NULL;
    assert_int_equal(s_load(buf.data, buf.size, &b), 0);
    et_aggregate_destroy(&b);
    free(copy);
    msgpack_sbuffer_destroy(&buf);
    et_aggregate_destroy(&a);
}

/* ---- the file ------------------------------------------------------------ */

static void
s_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/%s", s_dir, name);
}

static void
s_spit(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    fclose(f);
}

static void
test_checkpoint_file_round_trips_and_leaves_no_tmp(void **state)
{
    (void)state;
    char path[128], tmp[160], why[256];
    s_path(path, sizeof path, "c.ckpt");
    const char body[] = "a body of bytes\0with a NUL";
    assert_int_equal(et_checkpoint_write(path, body, sizeof body), 0);
    size_t size = 0;
    char *got = et_checkpoint_read(path, &size, why, sizeof why);
    assert_non_null(got);
    assert_int_equal(size, sizeof body);
    assert_memory_equal(got, body, sizeof body);
    free(got);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(access(tmp, F_OK), -1);
    /* Written again: the new body, whole. */
    assert_int_equal(et_checkpoint_write(path, "xy", 2), 0);
    got = et_checkpoint_read(path, &size, why, sizeof why);
    assert_non_null(got);
    assert_int_equal(size, 2);
    free(got);
}

static void
test_checkpoint_file_missing_is_enoent(void **state)
{
    (void)state;
    char path[128], why[256] = "";
    s_path(path, sizeof path, "none.ckpt");
    size_t size = 7;
    errno = 0;
    assert_null(et_checkpoint_read(path, &size, why, sizeof why));
    assert_int_equal(errno, ENOENT);
    assert_int_equal(size, 0);
}

/* Read 'data' as a checkpoint file: refused with EPROTO and a sentence
 * holding 'words'. */
static void
s_refused(const void *data, size_t size, const char *words)
{
    char path[128], why[256] = "";
    s_path(path, sizeof path, "bad.ckpt");
    s_spit(path, data, size);
    size_t got = 0;
    errno = 0;
    assert_null(et_checkpoint_read(path, &got, why, sizeof why));
    assert_int_equal(errno, EPROTO);
    if (!strstr(why, words))
        fail_msg("'%s' does not say '%s'", why, words);
}

static void
test_checkpoint_file_cut_corrupt_or_oversized_is_refused(void **state)
{
    (void)state;
    char path[128];
    s_path(path, sizeof path, "good.ckpt");
    char body[4000];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)(i * 7);
    assert_int_equal(et_checkpoint_write(path, body, sizeof body), 0);
    size_t size;
    char *file = s_slurp(path, &size);
    assert_int_equal(size, 32 + sizeof body);
    static char copy[32 + 4000 + 1];
    /* cut short: in the header, at its end, in the body */
    s_refused(file, 0, "header");
    s_refused(file, 20, "header");
    s_refused(file, 32, "wrong size");
    s_refused(file, size - 1, "wrong size");
    /* a byte more */
    memcpy(copy, file, size);
    copy[size] = 'x';
    s_refused(copy, size + 1, "wrong size");
    /* a bit flipped in the body, in the size, in the magic, the version */
    memcpy(copy, file, size);
    copy[32 + 1234] ^= 4;
    s_refused(copy, size, "checksum");
    memcpy(copy, file, size);
    copy[0] ^= 1;
    s_refused(copy, size, "version 1");
    memcpy(copy, file, size);
    copy[8] = 2;
    s_refused(copy, size, "version 1");
    /* a size above the bound: refused before anything is allocated */
    memcpy(copy, file, size);
    uint64_t huge = ET_CHECKPOINT_MAX + 1;
    memcpy(copy + 16, &huge, sizeof huge);
    s_refused(copy, size, "above");
    memcpy(copy + 16, &(uint64_t){UINT64_MAX}, sizeof huge);
    s_refused(copy, size, "above");
    /* a body the size says, but not the one checked */
    memcpy(copy, file, size);
    uint64_t smaller = 100;
    memcpy(copy + 16, &smaller, sizeof smaller);
    s_refused(copy, 32 + 100, "checksum");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoint_state_loads_back_to_the_same_results),
        cmocka_unit_test(test_checkpoint_state_of_another_run_is_refused),
        cmocka_unit_test(test_checkpoint_state_refuses_every_mistyped_field),
        cmocka_unit_test(
            test_checkpoint_state_with_flipped_bytes_never_crashes),
        cmocka_unit_test(test_checkpoint_file_round_trips_and_leaves_no_tmp),
        cmocka_unit_test(test_checkpoint_file_missing_is_enoent),
        cmocka_unit_test(
            test_checkpoint_file_cut_corrupt_or_oversized_is_refused),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
