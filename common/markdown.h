/* Markdown text for reports: escaping text into table cells and headings,
 * printable copies of untrusted text, numbers without exponent noise and a
 * table's alignment row. Shared by the collector's run report and
 * eventide-report's sweep report. */
#ifndef ET_MARKDOWN_H
#define ET_MARKDOWN_H

#include <stddef.h>
#include <stdio.h>

/* Every writer below writes to 'out' like fputs and has its contract:
 * returns 0, or -1 when the stream failed (errno from stdio, the stream's
 * error flag set). A caller that writes many pieces may ignore the results
 * and check ferror(out) once at the end. */

/* 'text' with every character that could change Markdown's formatting or
 * a table escaped with '\': | \ ` * _ [ ] < > #. For untrusted text
 * (directory names, fields of a file, error messages). */
int et_md_text(FILE *out, const char *text);

/* 'text' with only '|' escaped: enough to keep a table's cells intact,
 * and the raw file keeps names such as "tx_small.csv" as written. For text
 * the program has already cleaned (the collector's run report). */
int et_md_cell(FILE *out, const char *text);

/* A table's alignment row from one letter per column: 'l' gives "---",
 * 'r' "---:". "lrr" gives "|---|---:|---:|\n". */
int et_md_rule(FILE *out, const char *align);

/* A printable ASCII copy of untrusted text into dst[size]: every byte
 * outside 0x20..0x7e becomes '?', and text that does not fit ends in
 * "...". 'size' is at least 1. */
void et_md_printable(char *dst, size_t size, const char *src);

/* 'value' as a report shows a rate or a duration: "2", "0.5", "1000000"
 * rather than "1e+06" (an integral value below 1e15 without decimals,
 * else six significant digits). Returns 'buf'. */
const char *et_md_number(char *buf, size_t size, double value);

#endif
