/* The windows of every series, in one array per series behind a hash map
 * from the series' name. */
#include "producer/labels.h"

#include "common/cli.h"
#include "common/codec.h"
#include "common/hashmap.h"
#include "producer/csv.h"
#include "producer/source.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    size_t n;
    int64_t *bounds_ns; /* 2n: start, end pairs */
} s_series_t;

struct et_labels_t {
    et_hashmap_t *index;
    s_series_t **series; /* owned */
    size_t n;
};

static void
s_free_series(s_series_t *s)
{
    if (s) {
        free(s->bounds_ns);
        free(s);
    }
}

void
et_labels_destroy(et_labels_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_labels_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        s_free_series(self->series[i]);
    free(self->series);
    et_hashmap_destroy(&self->index);
    free(self);
    *self_p = NULL;
}

/* The series name of a key: its basename without ".csv". 0 or -1. */
static int
s_series_name(const char *key, char *dst, size_t size)
{
    const char *base = et_csv_basename(key);
    size_t len = strlen(base);
    if (len > 4 && strcmp(base + len - 4, ".csv") == 0)
        len -= 4;
    if (len == 0 || len >= size || len > ET_HASHMAP_KEY_MAX)
        return -1;
    memcpy(dst, base, len);
    dst[len] = '\0';
    return 0;
}

static s_series_t *
s_parse_windows(const json_t *list)
{
    if (!json_is_array(list))
        return NULL;
    s_series_t *s = calloc(1, sizeof *s);
    size_t n = json_array_size(list);
    if (!s || (n && !(s->bounds_ns = calloc(2 * n, sizeof *s->bounds_ns))))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const json_t *pair = json_array_get(list, i);
        const char *a = json_string_value(json_array_get(pair, 0));
        const char *b = json_string_value(json_array_get(pair, 1));
        if (!json_is_array(pair) || json_array_size(pair) != 2 || !a || !b ||
            et_csv_parse_time_ns(a, &s->bounds_ns[2 * i]) ||
            et_csv_parse_time_ns(b, &s->bounds_ns[2 * i + 1]) ||
            s->bounds_ns[2 * i] > s->bounds_ns[2 * i + 1])
            goto fail;
    }
    s->n = n;
    return s;
fail:
    s_free_series(s);
    return NULL;
}

et_labels_t *
et_labels_load(const char *path, char *why, size_t why_size)
{
    json_t *root = NULL;
    int saved = EINVAL;
    et_labels_t *self = calloc(1, sizeof *self);
    if (!self || !(self->index = et_hashmap_new(ET_LABELS_SERIES_MAX)) ||
        !(self->series = calloc(ET_LABELS_SERIES_MAX, sizeof *self->series))) {
        saved = ENOMEM;
        et_cli_why(why, why_size, "out of memory");
        goto fail;
    }
    struct stat st;
    if (stat(path, &st) != 0) {
        saved = errno;
        et_cli_why(why, why_size, "%s: %s", path, strerror(saved));
        goto fail;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > ET_SOURCE_LABELS_BYTES_MAX) {
        et_cli_why(why, why_size, "%s: not a regular file of at most %d bytes",
                   path, ET_SOURCE_LABELS_BYTES_MAX);
        goto fail;
    }
    json_error_t error;
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &error);
    if (!root || !json_is_object(root)) {
        et_cli_why(why, why_size, "%s:%d: %s", path, root ? 1 : error.line,
                   root ? "expected an object of file names" : error.text);
        goto fail;
    }
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        char name[ET_HASHMAP_KEY_MAX + 1];
        if (s_series_name(key, name, sizeof name) != 0) {
            et_cli_why(why, why_size, "%s: '%.80s': no series name", path, key);
            goto fail;
        }
        if (et_hashmap_get(self->index, name)) {
            et_cli_why(why, why_size, "%s: two entries for series %s", path,
                       name);
            goto fail;
        }
        if (self->n == ET_LABELS_SERIES_MAX) {
            et_cli_why(why, why_size, "%s: more than %d series", path,
                       ET_LABELS_SERIES_MAX);
            goto fail;
        }
        s_series_t *s = s_parse_windows(value);
        if (!s) {
            et_cli_why(why, why_size,
                       "%s: '%.80s': expected a list of [start, end] "
                       "timestamps, start <= end",
                       path, key);
            goto fail;
        }
        self->series[self->n++] = s;
        if (et_hashmap_put(self->index, name, s) != 0) {
            saved = errno;
            et_cli_why(why, why_size, "%s", strerror(saved));
            goto fail;
        }
    }
    json_decref(root);
    return self;
fail:
    json_decref(root);
    et_labels_destroy(&self);
    errno = saved;
    return NULL;
}

int32_t
et_labels_find(const et_labels_t *self, const char *series, int64_t ts_ns)
{
    const s_series_t *s = et_hashmap_get(self->index, series);
    if (!s)
        return ET_LABEL_NONE;
    for (size_t i = 0; i < s->n; i++) {
        if (s->bounds_ns[2 * i] <= ts_ns && ts_ns <= s->bounds_ns[2 * i + 1])
            return (int32_t)(i + 1);
    }
    return 0;
}

int
et_labels_has(const et_labels_t *self, const char *series)
{
    return et_hashmap_get(self->index, series) != NULL;
}
