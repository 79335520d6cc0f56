/* Atomic file writes through NAME.tmp. errno is captured at each failing
 * step before clean-up calls (fclose, unlink) can overwrite it. */
#include "common/atomicfile.h"

#include <errno.h>
#include <limits.h>
#include <unistd.h>

int
et_atomicfile_write(const char *dir, const char *name,
                    et_atomicfile_writer_fn writer, const void *context)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    int n1 = snprintf(path, sizeof path, "%s/%s", dir, name);
    int n2 = snprintf(tmp, sizeof tmp, "%s/%s.tmp", dir, name);
    if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *file = fopen(tmp, "w");
    if (!file)
        return -1;
    /* A writer that fails without saying why must not inherit a stale
     * errno from some earlier call. */
    errno = 0;
    int rc = writer(file, context);
    int saved = errno;
    if (rc == 0 &&
        (fflush(file) != 0 || ferror(file) || fsync(fileno(file)) != 0)) {
        rc = -1;
        saved = errno;
    }
    if (fclose(file) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        unlink(tmp);
        errno = saved ? saved : EIO;
    }
    return rc;
}
