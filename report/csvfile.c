/* Bounded reading of the report's CSV inputs (report/csvfile.h). */
#include "report/csvfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

FILE *
et_csvfile_open(const char *dir, const char *file, uint64_t max_bytes,
                char *why, size_t why_size)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= sizeof path) {
        snprintf(why, why_size, "path too long");
        errno = ENAMETOOLONG;
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int saved = errno;
        snprintf(why, why_size, "cannot open: %s", strerror(saved));
        errno = saved;
        return NULL;
    }
    struct stat st;
    int saved = EINVAL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, why_size, "not a regular file");
    } else if ((uint64_t)st.st_size > max_bytes) {
        snprintf(why, why_size, "larger than %llu bytes",
                 (unsigned long long)max_bytes);
        saved = EFBIG;
    } else {
        FILE *f = fdopen(fd, "r");
        if (f)
            return f;
        saved = errno;
        snprintf(why, why_size, "cannot read: %s", strerror(saved));
    }
    close(fd);
    errno = saved;
    return NULL;
}

int
et_csvfile_getline(FILE *f, char *line, size_t size, char *why, size_t why_size)
{
    size_t len = 0;
    int ch;
    while ((ch = getc(f)) != EOF && ch != '\n') {
        if (ch == '\0') {
            snprintf(why, why_size, "NUL byte");
            return -1;
        }
        if (len + 1 >= size) {
            snprintf(why, why_size, "line longer than %zu bytes", size - 1);
            return -1;
        }
        line[len++] = (char)ch;
    }
    if (ch == EOF && len == 0)
        return 0;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    line[len] = '\0';
    return 1;
}

int
et_csvfile_split(char *line, char **field, size_t max)
{
    size_t n = 0;
    for (char *p = line;;) {
        if (n == max)
            return -1;
        field[n++] = p;
        char *comma = strchr(p, ',');
        if (!comma)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return (int)n;
}
