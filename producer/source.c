/* Event sources. A nab series and its labels are read whole when the
 * source is made, so a bad file is a usage error before anything starts
 * and the producer knows the replay's extent; the files are small (NAB's
 * largest series has 22,695 rows). */
#include "producer/source.h"

#include "common/cli.h"
#include "common/codec.h"
#include "producer/csv.h"
#include "producer/labels.h"
#include "workers/fraud/txgen.h"

#include <errno.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    int64_t ts_ns; /* unix time */
    double value;
} s_sample_t;

struct et_source_t {
    et_source_kind_t kind;
    char describe[ET_TEXT_MAX]; /* travels in HELLO */
    /* synthetic */
    uint32_t payload_bytes;
    uint8_t *padding;
    /* fraud */
    et_txgen_t *txgen;
    /* nab */
    char *file_name; /* the file's basename, as labels name it */
    char *series;    /* file_name without ".csv" */
    s_sample_t *samples;
    size_t n_samples;
    size_t next; /* index of the next sample */
    int64_t max_ts_ns;
    uint64_t backwards;
    et_labels_t *labels; /* --labels, or NULL */
    uint64_t key;        /* the last event's affinity key (et_source_key) */
};

void
et_source_options_defaults(et_source_options_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->seed = 1;
    opts->fraud_rate = 0.02;
    opts->malformed_rate = 0.005;
}

/* ---- nab ----------------------------------------------------------------- */

static int
s_nab_push(et_source_t *self, size_t *cap, const s_sample_t *sample)
{
    if (self->n_samples == *cap) {
        size_t grown = *cap ? *cap * 2 : 1024;
        s_sample_t *samples = realloc(self->samples, grown * sizeof *samples);
        if (!samples)
            return -1;
        self->samples = samples;
        *cap = grown;
    }
    self->samples[self->n_samples++] = *sample;
    return 0;
}

static int
s_nab_load(et_source_t *self, const char *path, char *why, size_t why_size)
{
    et_csv_t *csv = et_csv_open(path, why, why_size);
    if (!csv)
        return -1;
    size_t cap = 0;
    char *field[2];
    int rc = et_csv_next(csv, field, 2, why, why_size);
    if (rc == 0) {
        et_cli_why(why, why_size, "%s: empty file (expected 'timestamp,value')",
                   path);
        errno = EINVAL;
        goto fail;
    }
    if (rc < 0) {
        /* Whatever is wrong with the first line, it is not the header. */
        if (errno == EINVAL && et_csv_line(csv) == 1)
            et_csv_error(csv, why, why_size,
                         "expected the header 'timestamp,value'");
        goto fail;
    }
    if (strcasecmp(field[0], "timestamp") != 0 ||
        strcasecmp(field[1], "value") != 0) {
        et_csv_error(csv, why, why_size,
                     "expected the header "
                     "'timestamp,value'");
        goto fail;
    }
    while ((rc = et_csv_next(csv, field, 2, why, why_size)) == 1) {
        s_sample_t sample;
        if (self->n_samples == ET_SOURCE_ROWS_MAX) {
            et_csv_error(csv, why, why_size, "more than %d rows",
                         ET_SOURCE_ROWS_MAX);
            goto fail;
        }
        if (et_csv_parse_time_ns(field[0], &sample.ts_ns) != 0) {
            et_csv_error(csv, why, why_size,
                         "bad timestamp '%.40s' (expected YYYY-MM-DD "
                         "HH:MM:SS)",
                         field[0]);
            goto fail;
        }
        if (et_cli_parse_double(field[1], -DBL_MAX, DBL_MAX, &sample.value) !=
            0) {
            et_csv_error(csv, why, why_size, "bad value '%.40s'", field[1]);
            goto fail;
        }
        if (self->n_samples > 0 &&
            sample.ts_ns < self->samples[self->n_samples - 1].ts_ns)
            self->backwards++;
        if (self->n_samples == 0 || sample.ts_ns > self->max_ts_ns)
            self->max_ts_ns = sample.ts_ns;
        if (s_nab_push(self, &cap, &sample) != 0) {
            et_cli_why(why, why_size, "out of memory");
            errno = ENOMEM;
            goto fail;
        }
    }
    if (rc < 0)
        goto fail;
    if (self->n_samples == 0) {
        et_cli_why(why, why_size, "%s: no rows after the header", path);
        errno = EINVAL;
        goto fail;
    }
    et_csv_destroy(&csv);
    return 0;
fail : {
    int saved = errno;
    et_csv_destroy(&csv);
    errno = saved;
    return -1;
}
}

static int
s_nab_new(et_source_t *self, const char *path, char *why, size_t why_size)
{
    const char *base = et_csv_basename(path);
    if (!*base) {
        et_cli_why(why, why_size, "expected nab:FILE");
        errno = EINVAL;
        return -1;
    }
    self->file_name = strdup(base);
    self->series = strdup(base);
    if (!self->file_name || !self->series) {
        et_cli_why(why, why_size, "out of memory");
        errno = ENOMEM;
        return -1;
    }
    size_t len = strlen(self->series);
    if (len > 4 && strcmp(self->series + len - 4, ".csv") == 0)
        self->series[len - 4] = '\0';
    snprintf(self->describe, sizeof self->describe, "nab:%s", base);
    return s_nab_load(self, path, why, why_size);
}

int
et_source_load_labels(et_source_t *self, const char *path, char *why,
                      size_t why_size)
{
    if (self->kind != ET_SOURCE_NAB) {
        et_cli_why(why, why_size, "labels need --source nab:FILE");
        errno = EINVAL;
        return -1;
    }
    /* The file read whole, as for readings that name their series: every
     * entry must check, and this series' must be there. */
    et_labels_t *labels = et_labels_load(path, why, why_size);
    if (!labels)
        return -1;
    if (!et_labels_has(labels, self->series)) {
        et_cli_why(why, why_size, "%s: no entry for %s", path, self->file_name);
        et_labels_destroy(&labels);
        errno = EINVAL;
        return -1;
    }
    et_labels_destroy(&self->labels);
    self->labels = labels;
    return 0;
}

static int32_t
s_nab_label(const et_source_t *self, int64_t ts_ns)
{
    return self->labels ? et_labels_find(self->labels, self->series, ts_ns)
                        : ET_LABEL_NONE;
}

/* ---- the interface ------------------------------------------------------- */

et_source_t *
et_source_new(const char *spec, const et_source_options_t *opts, char *why,
              size_t why_size)
{
    et_source_t *self = NULL;
    int saved = EINVAL;
    if (!spec || !opts || strlen(spec) >= ET_SOURCE_SPEC_MAX) {
        et_cli_why(why, why_size, "source spec missing or too long");
        goto fail;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        saved = ENOMEM;
        et_cli_why(why, why_size, "out of memory");
        goto fail;
    }
    if (strcmp(spec, "synthetic") == 0) {
        self->kind = ET_SOURCE_SYNTHETIC;
        snprintf(self->describe, sizeof self->describe, "synthetic");
        self->payload_bytes = opts->payload_bytes;
        if (self->payload_bytes &&
            !(self->padding = calloc(self->payload_bytes, 1))) {
            saved = ENOMEM;
            et_cli_why(why, why_size, "out of memory");
            goto fail;
        }
    } else if (strcmp(spec, "fraud") == 0) {
        self->kind = ET_SOURCE_FRAUD;
        snprintf(self->describe, sizeof self->describe, "fraud");
        self->txgen =
            et_txgen_new(opts->seed, opts->fraud_rate, opts->malformed_rate);
        if (!self->txgen) {
            saved = errno;
            et_cli_why(why, why_size, "%s",
                       saved == EINVAL ? "fraud and malformed rates must be in "
                                         "0..0.5"
                                       : strerror(saved));
            goto fail;
        }
    } else if (strncmp(spec, "nab:", 4) == 0) {
        self->kind = ET_SOURCE_NAB;
        if (s_nab_new(self, spec + 4, why, why_size) != 0) {
            saved = errno;
            goto fail;
        }
    } else {
        et_cli_why(why, why_size, "expected synthetic, fraud or nab:FILE");
        goto fail;
    }
    return self;
fail:
    et_source_destroy(&self);
    errno = saved;
    return NULL;
}

void
et_source_destroy(et_source_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_source_t *self = *self_p;
    free(self->padding);
    et_txgen_destroy(&self->txgen);
    free(self->file_name);
    free(self->series);
    free(self->samples);
    et_labels_destroy(&self->labels);
    free(self);
    *self_p = NULL;
}

static int
s_pack_synthetic(et_source_t *self, const et_source_request_t *request,
                 msgpack_packer *pk)
{
    int rc = 0;
    if (request->has_tokens) {
        rc |= msgpack_pack_map(pk, self->payload_bytes ? 4 : 3);
        rc |= msgpack_pack_str_with_body(pk, "seq", 3);
        rc |= msgpack_pack_uint64(pk, request->seq);
        rc |= msgpack_pack_str_with_body(pk, "ctx", 3);
        rc |= msgpack_pack_uint32(pk, request->ctx_tokens);
        rc |= msgpack_pack_str_with_body(pk, "gen", 3);
        rc |= msgpack_pack_uint32(pk, request->gen_tokens);
        if (self->payload_bytes)
            rc |= msgpack_pack_str_with_body(pk, "pad", 3);
    } else {
        rc |= msgpack_pack_array(pk, self->payload_bytes ? 2 : 1);
        rc |= msgpack_pack_uint64(pk, request->seq);
    }
    if (self->payload_bytes)
        rc |=
            msgpack_pack_bin_with_body(pk, self->padding, self->payload_bytes);
    return rc;
}

static int
s_pack_nab(const et_source_t *self, const s_sample_t *sample,
           msgpack_packer *pk)
{
    size_t series_len = strlen(self->series);
    return msgpack_pack_map(pk, 3) |
           msgpack_pack_str_with_body(pk, "series", 6) |
           msgpack_pack_str_with_body(pk, self->series, series_len) |
           msgpack_pack_str_with_body(pk, "ts", 2) |
           msgpack_pack_double(pk, (double)sample->ts_ns / 1e9) |
           msgpack_pack_str_with_body(pk, "value", 5) |
           msgpack_pack_double(pk, sample->value);
}

int
et_source_next(et_source_t *self, const et_source_request_t *request,
               msgpack_sbuffer *payload, int32_t *label, double *event_time_s)
{
    msgpack_sbuffer_clear(payload);
    msgpack_packer pk;
    msgpack_packer_init(&pk, payload, msgpack_sbuffer_write);
    int rc = 0;
    switch (self->kind) {
    case ET_SOURCE_SYNTHETIC:
        rc = s_pack_synthetic(self, request, &pk);
        *label = ET_LABEL_NONE;
        *event_time_s = 0;
        self->key = ET_KEY_NONE;
        break;
    case ET_SOURCE_FRAUD: {
        et_tx_t tx;
        et_txgen_next(self->txgen, &tx);
        rc = et_txgen_pack(&tx, &pk);
        *label = tx.label == 0 || tx.label == 1 ? tx.label : ET_LABEL_NONE;
        *event_time_s = tx.ts;
        self->key = et_codec_key_of(&tx.card, sizeof tx.card);
        break;
    }
    case ET_SOURCE_NAB: {
        if (self->next == self->n_samples)
            return 0;
        const s_sample_t *sample = &self->samples[self->next++];
        rc = s_pack_nab(self, sample, &pk);
        *label = s_nab_label(self, sample->ts_ns);
        *event_time_s = (double)sample->ts_ns / 1e9;
        self->key = et_codec_key_of(self->series, strlen(self->series));
        break;
    }
    }
    if (rc != 0) {
        errno = ENOMEM;
        return -1;
    }
    return 1;
}

uint64_t
et_source_key(const et_source_t *self)
{
    return self->key;
}

int
et_source_extent(const et_source_t *self, uint64_t *count, double *first_time_s,
                 double *last_time_s)
{
    if (self->kind != ET_SOURCE_NAB)
        return 0;
    if (count)
        *count = self->n_samples;
    if (first_time_s)
        *first_time_s = (double)self->samples[0].ts_ns / 1e9;
    if (last_time_s)
        *last_time_s = (double)self->max_ts_ns / 1e9;
    return 1;
}

et_source_kind_t
et_source_kind(const et_source_t *self)
{
    return self->kind;
}

const char *
et_source_describe(const et_source_t *self)
{
    return self->describe;
}

uint64_t
et_source_backwards(const et_source_t *self)
{
    return self->backwards;
}

int
et_source_sample(const et_source_t *self, size_t index, int64_t *ts_ns,
                 double *value)
{
    if (self->kind != ET_SOURCE_NAB || index >= self->n_samples)
        return 0;
    *ts_ns = self->samples[index].ts_ns;
    *value = self->samples[index].value;
    return 1;
}

const char *
et_source_series(const et_source_t *self)
{
    return self->kind == ET_SOURCE_NAB ? self->series : NULL;
}
