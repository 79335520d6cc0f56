/* Strict reading of the small CSV files the producer replays (NAB series,
 * the Azure LLM trace): bounded lines, exact field counts, the timestamp
 * format both use, and errors that say "FILE:LINE: what is wrong". No
 * quoting: none of these files needs it. */
#ifndef ET_CSV_H
#define ET_CSV_H

#include <stddef.h>
#include <stdint.h>

/* Longest line accepted, without its line ending. Real rows are < 64. */
#define ET_CSV_LINE_MAX 512
#define ET_CSV_FIELDS_MAX 8
/* Longest line et_csv_open_wide accepts as its bound: the Azure Functions
 * trace has 1,444 fields a row. */
#define ET_CSV_WIDE_LINE_MAX (1u << 20)

typedef struct et_csv_t et_csv_t;

/* Open the regular file 'path'. Returns NULL with errno set and a one-line
 * reason in 'why' (if not NULL). The caller owns the result. */
et_csv_t *et_csv_open(const char *path, char *why, size_t why_size);

/* The same, for files with long rows: lines up to 'line_max' bytes
 * (1..ET_CSV_WIDE_LINE_MAX), held in one buffer of that size. */
et_csv_t *et_csv_open_wide(const char *path, size_t line_max, char *why,
                           size_t why_size);

/* Close the file, destroy *self_p and set it to NULL. Does nothing if
 * *self_p is NULL. */
void et_csv_destroy(et_csv_t **self_p);

/* Read the next line and split it at commas into exactly 'n_fields'
 * (1..ET_CSV_FIELDS_MAX) strings, which stay valid until the next call. A
 * trailing CR is dropped (CRLF files); empty lines are accepted only at the
 * end of the file. Returns 1 for a row, 0 at the end of the file, or -1
 * with errno EINVAL (bad line) or EIO and "FILE:LINE: reason" in 'why'. */
int et_csv_next(et_csv_t *self, char **fields, int n_fields, char *why,
                size_t why_size);

/* Read the next line and split it at commas into 1..'max_fields' strings
 * (any count), *n_fields set to how many. Returns 1, 0 at the end of the
 * file, or -1 (more than max_fields, or as et_csv_next). */
int et_csv_next_row(et_csv_t *self, char **fields, int max_fields,
                    int *n_fields, char *why, size_t why_size);

/* Number of the line et_csv_next returned last (the header is line 1). */
unsigned long et_csv_line(const et_csv_t *self);

/* Write "FILE:LINE: " and the formatted reason into 'why', for errors the
 * caller finds in a row's fields. Sets errno to EINVAL. */
void et_csv_error(const et_csv_t *self, char *why, size_t why_size,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Parse "YYYY-MM-DD HH:MM:SS" with an optional fraction of 1 to 9 digits
 * ("2023-11-16 18:15:46.6805900"), read as UTC, into nanoseconds since the
 * Unix epoch. Years 1900..2200; every field is range-checked (no leap
 * seconds, days per month). Returns 0 or -1. */
int et_csv_parse_time_ns(const char *text, int64_t *ns);

/* The last path component of 'path' (a pointer into it). */
const char *et_csv_basename(const char *path);

#endif
