/* Markdown text for reports. The escapes work byte by byte: UTF-8
 * continuation bytes never equal an ASCII special character. */
#include "common/markdown.h"

#include <math.h>
#include <string.h>

/* Write 'text', putting a backslash before every byte in 'special'. */
static int
s_escaped(FILE *out, const char *text, const char *special)
{
    for (; *text; text++) {
        if (strchr(special, *text) && fputc('\\', out) == EOF)
            return -1;
        if (fputc(*text, out) == EOF)
            return -1;
    }
    return 0;
}

int
et_md_text(FILE *out, const char *text)
{
    return s_escaped(out, text, "|\\`*_[]<>#");
}

int
et_md_cell(FILE *out, const char *text)
{
    return s_escaped(out, text, "|");
}

int
et_md_rule(FILE *out, const char *align)
{
    if (fputc('|', out) == EOF)
        return -1;
    for (; *align; align++)
        if (fputs(*align == 'r' ? "---:|" : "---|", out) == EOF)
            return -1;
    return fputc('\n', out) == EOF ? -1 : 0;
}

void
et_md_printable(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < size; i++) {
        unsigned char ch = (unsigned char)src[i];
        dst[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    dst[i] = '\0';
    if (src[i] && size >= 4)
        memcpy(dst + size - 4, "...", 4);
}

const char *
et_md_number(char *buf, size_t size, double value)
{
    if (value == floor(value) && fabs(value) < 1e15)
        snprintf(buf, size, "%.0f", value);
    else
        snprintf(buf, size, "%.6g", value);
    return buf;
}
