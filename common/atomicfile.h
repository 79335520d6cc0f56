/* Atomic file writes: a file is written to NAME.tmp beside it, flushed to
 * disk and renamed over NAME, so a reader sees the old file or the whole
 * new one, never half of one. Used by every writer of results (the
 * collector's summary.json and report.md, eventide-report's files). */
#ifndef ET_ATOMICFILE_H
#define ET_ATOMICFILE_H

#include <stdio.h>

/* Fills 'file' from 'context'. Returns 0, or -1 with errno set (0 is
 * taken as EIO); stdio errors may be left in the stream's error flag, which
 * et_atomicfile_write checks. */
typedef int (*et_atomicfile_writer_fn)(FILE *file, const void *context);

/* Write DIR/NAME: 'writer' fills DIR/NAME.tmp, which is then flushed,
 * fsync'ed, closed and renamed to DIR/NAME. Returns 0, or -1 with errno
 * (ENAMETOOLONG when the path does not fit PATH_MAX, the writer's errno,
 * else that of the failing fopen/fflush/fsync/fclose/rename; EIO when
 * nothing said why). On failure DIR/NAME.tmp is removed and DIR/NAME is
 * left as it was. Never logs. */
int et_atomicfile_write(const char *dir, const char *name,
                        et_atomicfile_writer_fn writer, const void *context);

#endif
