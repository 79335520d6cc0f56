/* The report's CSV inputs (the collector's timeseries.csv and the
 * per-function files) read as untrusted text: a regular file of bounded
 * size, bounded lines without NUL bytes, fields split at commas. */
#ifndef ET_REPORT_CSVFILE_H
#define ET_REPORT_CSVFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Open DIR/FILE for reading when it is a regular file of at most
 * 'max_bytes' (O_NONBLOCK, so a FIFO planted there cannot hang us). NULL
 * with errno and 'why' otherwise. */
FILE *et_csvfile_open(const char *dir, const char *file, uint64_t max_bytes,
                      char *why, size_t why_size);

/* One line without its end ("\n" or "\r\n") into 'line' (of 'size'
 * bytes). 1, 0 at the end of the file, or -1 with 'why' (longer than
 * size - 1 bytes, or a NUL byte). */
int et_csvfile_getline(FILE *f, char *line, size_t size, char *why,
                       size_t why_size);

/* Split 'line' at commas in place into 'field': the number of fields, or
 * -1 when there are more than 'max'. */
int et_csvfile_split(char *line, char **field, size_t max);

#endif
