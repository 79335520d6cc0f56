/* Untrusted text made safe for every results writer: names and labels
 * from the wire become valid UTF-8 without control characters, so JSON
 * (valid UTF-8 only) and Markdown tables (no newlines) can use them as
 * they are. */
#ifndef ET_CLEAN_H
#define ET_CLEAN_H

#include <stddef.h>

/* Copy 'src' into 'dst' of 'cap' bytes (cap >= 1), replacing control
 * characters and bytes that are not well-formed UTF-8 with '?'. Truncates
 * at a character boundary; 'dst' is always terminated. */
void et_clean_text(char *dst, size_t cap, const char *src);

#endif
