/* Fuzz target: workflow files. The input is written to a per-process file
 * and loaded with et_workflow_load; what loads must satisfy every bound
 * the broker relies on. Short NUL-free inputs also go to
 * et_workflow_resolve as a name (never as a path: a fuzzed path could name
 * a FIFO or a device and block). */
#include "common/cli.h"
#include "common/workflow.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_path[64];

static void
s_fail(const char *what)
{
    fprintf(stderr, "fuzz_workflow: %s\n", what);
    abort();
}

static void
s_unlink(void)
{
    if (s_path[0] != '\0')
        unlink(s_path);
}

/* What every loaded or resolved workflow must satisfy. */
static void
s_check_workflow(const et_workflow_t *wf)
{
    if (et_cli_check_name(wf->name, ET_NAME_MAX - 1) != 0)
        s_fail("bad workflow name accepted");
    if (wf->n_stages < 1 || wf->n_stages > ET_WORKFLOW_STAGES_MAX)
        s_fail("stage count out of range");
    if (wf->n_functions < 1 || wf->n_functions > wf->n_stages)
        s_fail("function count out of range");
    if (wf->n_producer > ET_WORKFLOW_PRODUCER_MAX)
        s_fail("too many producer defaults");
    for (uint32_t i = 0; i < wf->n_producer; i++)
        if (!wf->producer[i].value[0] || strchr(wf->producer[i].value, '\n'))
            s_fail("bad producer default accepted");
    for (uint32_t i = 0; i < wf->n_stages; i++) {
        const et_stage_t *st = &wf->stages[i];
        if (et_cli_check_name(st->function, ET_NAME_MAX - 1) != 0)
            s_fail("bad function name accepted");
        int f = et_workflow_function_index(wf, st->function);
        if (f < 0 || (uint32_t)f >= wf->n_functions ||
            wf->stage_function[i] != (uint32_t)f)
            s_fail("the function index disagrees");
        const et_stage_t *first = et_workflow_function_stage(wf, st->function);
        if (!first || first > st || first->slots != st->slots ||
            first->n_options != st->n_options ||
            strcmp(first->io_delay, st->io_delay) != 0)
            s_fail("a function's stages disagree on its settings");
        if (memchr(st->io_delay, '\0', sizeof st->io_delay) == NULL)
            s_fail("io_delay not terminated");
        if (st->slots < 1 || st->slots > 64)
            s_fail("slots out of range");
        if (st->timeout_ns < 1000000ULL ||
            st->timeout_ns > 3600000ULL * 1000000ULL)
            s_fail("timeout out of range");
        if (st->retries > 100)
            s_fail("retries out of range");
        if (st->n_options > ET_STAGE_OPTIONS_MAX)
            s_fail("too many options");
        for (uint32_t k = 0; k < st->n_options; k++) {
            const et_option_t *opt = &st->options[k];
            if (memchr(opt->key, '\0', sizeof opt->key) == NULL ||
                memchr(opt->value, '\0', sizeof opt->value) == NULL)
                s_fail("option not terminated");
            if (et_cli_check_name(opt->key, ET_OPTION_KEY_MAX - 1) != 0)
                s_fail("bad option key accepted");
            if (strchr(opt->value, '\n'))
                s_fail("newline in an option value");
            const char *v = et_stage_option(st, opt->key);
            if (!v)
                s_fail("et_stage_option misses a key");
        }
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(s_path, sizeof s_path, "/tmp/et-fuzz-workflow-%ld.json",
             (long)getpid());
    atexit(s_unlink);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (s_path[0] == '\0')
        LLVMFuzzerInitialize(NULL, NULL);
    FILE *f = fopen(s_path, "wb");
    if (!f || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        s_fail("cannot write the input file");
    et_workflow_t wf;
    char err[512];
    err[0] = '\0';
    if (et_workflow_load(&wf, s_path, err, sizeof err) == 0)
        s_check_workflow(&wf);
    else if (err[0] == '\0')
        s_fail("load failed without a message");

    if (size < 256 && !memchr(data, '\0', size) && !memchr(data, '/', size)) {
        char name[256];
        memcpy(name, data, size);
        name[size] = '\0';
        err[0] = '\0';
        if (et_workflow_resolve(&wf, name, err, sizeof err) == 0)
            s_check_workflow(&wf);
        else if (err[0] == '\0' && size > 0)
            s_fail("resolve failed without a message");
    }
    return 0;
}
