/* Replay driver: runs a fuzz target's LLVMFuzzerTestOneInput on every file
 * of the directories (or files) given, so the committed corpora are a
 * regression test under any compiler, without libFuzzer. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target: weak, so targets without it still link. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define S_INPUT_MAX (4u << 20)

/* Run one file; 0, or -1 when it cannot be read. */
static int
s_run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *data = malloc(S_INPUT_MAX);
    size_t size = data ? fread(data, 1, S_INPUT_MAX, f) : 0;
    int bad = !data || ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "replay: %s: cannot read\n", path);
        free(data);
        return -1;
    }
    /* An exact-size copy, so ASan sees reads past the end as libFuzzer
     * would. */
    uint8_t *input = malloc(size ? size : 1);
    if (!input) {
        free(data);
        return -1;
    }
    memcpy(input, data, size);
    free(data);
    LLVMFuzzerTestOneInput(input, size);
    free(input);
    return 0;
}

static int
s_by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Run every regular file of 'dir' in name order; -1 on any read error. */
static int
s_run_dir(const char *dir, unsigned *count)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, s_by_name);
    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            if (s_run_file(path) != 0)
                rc = -1;
            else
                (*count)++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    unsigned count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            rc |= s_run_dir(argv[i], &count);
        else if (s_run_file(argv[i]) == 0)
            count++;
        else
            rc = -1;
    }
    printf("replay: %u inputs ran\n", count);
    if (count == 0) {
        fprintf(stderr, "replay: no inputs\n");
        return 1;
    }
    return rc == 0 ? 0 : 1;
}
