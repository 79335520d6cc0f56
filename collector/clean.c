/* The text cleaner: a strict UTF-8 walk (no overlong forms, surrogates or
 * code points above U+10FFFF) that copies what is well formed and
 * printable and writes '?' for anything else. */
#include "collector/clean.h"

#include <stdint.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at 's' (1 to 4), or 0. */
static size_t
s_utf8_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void
et_clean_text(char *dst, size_t cap, const char *src)
{
    const unsigned char *p = (const unsigned char *)src;
    size_t out = 0;
    while (*p) {
        size_t n = s_utf8_len(p);
        if (n == 1 && (*p < 0x20 || *p == 0x7f))
            n = 0;
        if (out + (n ? n : 1) >= cap)
            break;
        if (n == 0) {
            dst[out++] = '?';
            p++;
            continue;
        }
        memcpy(dst + out, p, n);
        out += n;
        p += n;
    }
    dst[out] = '\0';
}
