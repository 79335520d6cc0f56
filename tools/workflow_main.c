/* eventide-workflow: check a workflow and print what it says, one
 * KEY=VALUE line each, for the launcher and for people. The launcher reads
 * workflows only through this (common/workflow is the one reader). */
#include "common/opts.h"
#include "common/workflow.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static void
s_print(const et_workflow_t *wf, const char *out_dir)
{
    printf("name=%s\npath=%s\nrouting=%s\nfunctions=", wf->name, wf->path,
           wf->routing == ET_WORKFLOW_PER_STAGE ? "per_stage" : "chain");
    for (uint32_t f = 0; f < wf->n_functions; f++)
        printf("%s%s", f ? " " : "", wf->functions[f]);
    printf("\nstages=");
    for (uint32_t s = 0; s < wf->n_stages; s++)
        printf("%s%s", s ? "," : "", wf->stages[s].function);
    printf("\n");
    for (uint32_t i = 0; i < wf->n_producer; i++)
        printf("producer.%s=%s\n", wf->producer[i].key, wf->producer[i].value);
    for (uint32_t f = 0; f < wf->n_functions; f++) {
        const et_stage_t *st = et_workflow_function_stage(wf, wf->functions[f]);
        printf("function.%s.slots=%u\n", st->function, st->slots);
        printf("function.%s.runs=%s\n", st->function, st->runs);
        if (st->io_delay[0])
            printf("function.%s.io_delay=%s\n", st->function, st->io_delay);
        for (uint32_t k = 0; k < st->n_options; k++) {
            char value[PATH_MAX];
            /* Unexpanded when {out} is used and no --out was given. */
            if (et_workflow_expand(st->options[k].value, out_dir, value,
                                   sizeof value) != 0)
                snprintf(value, sizeof value, "%s", st->options[k].value);
            printf("function.%s.option.%s=%s\n", st->function,
                   st->options[k].key, value);
        }
    }
    for (uint32_t s = 0; s < wf->n_stages; s++)
        printf("stage.%u.timeout_ms=%llu\nstage.%u.retries=%u\n", s,
               (unsigned long long)(wf->stages[s].timeout_ns / 1000000ULL), s,
               wf->stages[s].retries);
}

int
main(int argc, char **argv)
{
    char name[PATH_MAX] = "";
    char out_dir[PATH_MAX - 256] = "";
    et_opt_t opts[] = {
        {.name = "workflow",
         .short_name = 'w',
         .type = ET_OPT_STRING,
         .dest = name,
         .size = sizeof name,
         .arg = "NAME|FILE",
         .required = 1,
         .help = "a workflow name (workflows/NAME.json, or under "
                 "$EVENTIDE_WORKFLOWS) or a workflow JSON file"},
        {.name = "out",
         .type = ET_OPT_STRING,
         .dest = out_dir,
         .size = sizeof out_dir,
         .arg = "DIR",
         .help = "results directory: replaces {out} in function options"},
    };
    et_opts_t spec = {
        .prog = "eventide-workflow",
        .usage = "--workflow NAME|FILE [--out DIR]",
        .about = "Checks a workflow and prints it as KEY=VALUE lines: name, "
                 "path, routing, functions, stages, producer.KEY, "
                 "function.F.slots, function.F.runs, "
                 "function.F.io_delay, function.F.option.KEY, "
                 "stage.N.timeout_ms and stage.N.retries. Exit status 2 "
                 "and the reason when the workflow is invalid.",
        .opts = opts,
        .n_opts = sizeof opts / sizeof opts[0]};
    int rc = et_opts_parse(&spec, argc, argv);
    if (rc != ET_OPTS_RUN)
        return et_opts_exit_status(rc);
    et_workflow_t wf;
    char why[1024];
    if (et_workflow_resolve(&wf, name, why, sizeof why) != 0)
        return et_opts_exit_status(et_opts_error(&spec, "workflow", name, why));
    if (et_opts_checked(&spec) != ET_OPTS_RUN)
        return ET_EXIT_OK;
    s_print(&wf, out_dir[0] ? out_dir : NULL);
    return ET_EXIT_OK;
}
