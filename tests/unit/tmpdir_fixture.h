/* Shared helpers of the unit tests that write files: a private
 * directory under /tmp per test (cmocka setup and teardown, the path in
 * *state) and its removal with everything in it. Include after cmocka.h. */
#ifndef ET_TEST_TMPDIR_FIXTURE_H
#define ET_TEST_TMPDIR_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static inline int
et_test_rm_one(const char *path, const struct stat *st, int flag,
               struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* DIR and everything below it, links not followed. 0, or -1. */
static inline int
et_test_rm_tree(const char *dir)
{
    return nftw(dir, et_test_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* cmocka setup: a new /tmp/et-test-XXXXXX, its path (malloc'd) in
 * *state. */
static inline int
et_test_tmpdir_setup(void **state)
{
    char *dir = malloc(32);
    if (!dir)
        return -1;
    snprintf(dir, 32, "/tmp/et-test-XXXXXX");
    if (!mkdtemp(dir)) {
        free(dir);
        return -1;
    }
    *state = dir;
    return 0;
}

/* cmocka teardown of et_test_tmpdir_setup. */
static inline int
et_test_tmpdir_teardown(void **state)
{
    char *dir = *state;
    et_test_rm_tree(dir);
    free(dir);
    return 0;
}

#endif
