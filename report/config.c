/* eventide-report's option table and the checks that span options. The
 * three directory mode flags (and --out) write one directory; which of
 * them was given sets the mode; --validate keeps a list of runs. */
#include "report/config.h"

#include "common/opts.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Leave room for "/<point>/summary.json" under the directory. */
#define S_DIR_MAX (PATH_MAX - NAME_MAX - 32)

/* In the order of et_report_mode_t. */
static const char *const s_mode_flags[] = {"sweep", "timeseries", "tables",
                                           "functions"};
#define S_MODE_FLAGS 4

static int
s_parse_title(const char *value, void *dest, char *why, size_t why_size)
{
    size_t len = strlen(value);
    int ok = len > 0 && len <= ET_REPORT_TITLE_MAX;
    for (size_t i = 0; ok && i < len; i++)
        if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
            ok = 0;
    if (!ok) {
        snprintf(why, why_size,
                 "expected 1-%d characters, no control characters",
                 ET_REPORT_TITLE_MAX);
        return -1;
    }
    memcpy(dest, value, len + 1);
    return 0;
}

/* Each --validate RUNDIR, kept in order (argv outlives the config). */
static int
s_parse_run(const char *value, void *dest, char *why, size_t why_size)
{
    et_report_config_t *cfg = dest;
    struct stat st;
    if (cfg->n_runs == ET_REPORT_VALIDATE_MAX) {
        snprintf(why, why_size, "at most %d runs", ET_REPORT_VALIDATE_MAX);
        return -1;
    }
    if (strlen(value) >= S_DIR_MAX || stat(value, &st) != 0 ||
        !S_ISDIR(st.st_mode)) {
        snprintf(why, why_size, "not a directory");
        return -1;
    }
    cfg->runs[cfg->n_runs++] = value;
    return 0;
}

/* --validate's output directory: --out, else the first run's parent. */
static int
s_check_validate(et_report_config_t *cfg, const et_opts_t *spec, int out_given)
{
    struct stat st;
    if (!out_given) {
        snprintf(cfg->dir, sizeof cfg->dir, "%s", cfg->runs[0]);
        size_t len = strlen(cfg->dir);
        while (len > 1 && cfg->dir[len - 1] == '/')
            cfg->dir[--len] = '\0';
        char *slash = strrchr(cfg->dir, '/');
        if (!slash)
            snprintf(cfg->dir, sizeof cfg->dir, ".");
        else
            slash[slash == cfg->dir ? 1 : 0] = '\0';
    }
    if (stat(cfg->dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return et_opts_error(spec, "out", cfg->dir, "not a directory");
    cfg->mode = ET_REPORT_MODE_VALIDATE;
    return ET_OPTS_RUN;
}

/* The mode from the one mode flag given, and its directory checked. */
static int
s_check_mode(et_report_config_t *cfg, const et_opts_t *spec, int out_given)
{
    const char *flag = NULL;
    if (cfg->n_runs > 0) {
        for (int m = 0; m < S_MODE_FLAGS; m++)
            if (et_opts_given(spec, s_mode_flags[m]) > 0)
                return et_opts_error(spec, s_mode_flags[m], NULL,
                                     "give one --sweep, --timeseries, "
                                     "--functions, --tables or --validate");
        return s_check_validate(cfg, spec, out_given);
    }
    if (out_given)
        return et_opts_error(spec, "out", NULL,
                             "only with --validate; leave it out");
    for (int m = 0; m < S_MODE_FLAGS; m++) {
        unsigned given = et_opts_given(spec, s_mode_flags[m]);
        if (given == 0)
            continue;
        if (flag || given > 1)
            return et_opts_error(spec, s_mode_flags[m], NULL,
                                 "give one --sweep, --timeseries, "
                                 "--functions, --tables or --validate");
        flag = s_mode_flags[m];
        cfg->mode = (et_report_mode_t)m;
    }
    if (!flag)
        return et_opts_error(
            spec, "sweep", NULL,
            "required (or --timeseries RUNDIR, --functions RUNDIR, --tables "
            "DIR or --validate RUNDIR)");
    struct stat st;
    if (stat(cfg->dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return et_opts_error(spec, flag, cfg->dir, "not a directory");
    return ET_OPTS_RUN;
}

int
et_report_config_parse(et_report_config_t *cfg, int argc, char **argv)
{
    int no_plots = 0;
    memset(cfg, 0, sizeof *cfg);
    et_opt_t opts[] = {
        {.name = "sweep",
         .type = ET_OPT_STRING,
         .dest = cfg->dir,
         .size = S_DIR_MAX,
         .arg = "DIR",
         .help = "write the sweep report of DIR (one sub-directory per run "
                 "point, each with its summary.json)"},
        {.name = "timeseries",
         .type = ET_OPT_STRING,
         .dest = cfg->dir,
         .size = S_DIR_MAX,
         .arg = "RUNDIR",
         .help = "draw one run's figure over time from "
                 "RUNDIR/timeseries.csv"},
        {.name = "functions",
         .type = ET_OPT_STRING,
         .dest = cfg->dir,
         .size = S_DIR_MAX,
         .arg = "RUNDIR",
         .help = "draw one run's per-function figures (slowdown CDF, "
                 "cold-start ratio against invocation rate, instances over "
                 "time) from RUNDIR/{slowdown_cdf,functions,instances}.csv"},
        {.name = "tables",
         .type = ET_OPT_STRING,
         .dest = cfg->dir,
         .size = S_DIR_MAX,
         .arg = "DIR",
         .help = "print the sweep's three paper tables (average latency, "
                 "throughput and utilization per event rate) on stdout, "
                 "from its summaries; writes nothing"},
        {.name = "validate",
         .type = ET_OPT_CUSTOM,
         .parse = s_parse_run,
         .dest = cfg,
         .repeat = 1,
         .arg = "RUNDIR",
         .help = "check a run of a one-stage workflow against queueing "
                 "theory (once per run): writes validate.md and "
                 "validate.{png,svg}; exit 1 when theory falls outside a "
                 "95% interval"},
        {.name = "out",
         .type = ET_OPT_STRING,
         .dest = cfg->dir,
         .size = S_DIR_MAX,
         .arg = "DIR",
         .help = "--validate: where validate.md and the figure go "
                 "(default: the first run's parent directory)"},
        {.name = "title",
         .type = ET_OPT_CUSTOM,
         .parse = s_parse_title,
         .dest = cfg->title,
         .arg = "TEXT",
         .def = ET_REPORT_TITLE_DEFAULT,
         .help = "the report's title, or the figure's with --timeseries "
                 "(where the default is \"Eventide run RUNDIR-NAME\")"},
        {.name = "no-plots",
         .type = ET_OPT_FLAG,
         .dest = &no_plots,
         .help = "--sweep, --validate: tables only, no figures, gnuplot "
                 "not needed"},
        {.name = "log-level",
         .type = ET_OPT_LOG_LEVEL,
         .dest = &cfg->log_level,
         .arg = "LEVEL",
         .def = "info",
         .help = "debug, info, warn, error or off"},
    };
    et_opts_t spec = {
        .prog = ET_REPORT_PROG,
        .usage = "--sweep DIR | --timeseries RUNDIR | --functions RUNDIR | "
                 "--tables DIR | "
                 "--validate RUNDIR... [options]",
        .about =
            "--sweep reads DIR/*/summary.json (one sub-directory per run "
            "point) and writes\nDIR/report.md, DIR/sweep.csv and the "
            "figures\nDIR/{latency,throughput,utilization}.{png,svg}, drawn "
            "by gnuplot\nfrom DIR/plots.gp and DIR/plots.dat.\n"
            "--timeseries reads one run's RUNDIR/timeseries.csv and draws\n"
            "RUNDIR/timeseries.{png,svg} over time: offered and completed "
            "events/s,\nreplicas, busy slots and queue depth, and p50/p99 "
            "latency (gnuplot, from\nRUNDIR/timeseries.gp and .dat).\n"
            "--functions reads one run's slowdown_cdf.csv, functions.csv "
            "and instances.csv\nand draws RUNDIR/{slowdown_cdf,cold_vs_rate,"
            "instances}.{png,svg} (gnuplot,\nfrom RUNDIR/functions.gp and "
            ".dat).\n"
            "--tables prints the paper's three tables of DIR/report.md on "
            "stdout, read from\nDIR/*/summary.json.\n"
            "--validate reads each RUNDIR/summary.json and compares its "
            "measured waits with\nqueueing theory (exit 0: inside every "
            "interval, 1: outside one).",
        .opts = opts,
        .n_opts = sizeof opts / sizeof opts[0]};
    int rc = et_opts_parse(&spec, argc, argv);
    if (rc != ET_OPTS_RUN)
        return rc;
    rc = s_check_mode(cfg, &spec, et_opts_given(&spec, "out") > 0);
    if (rc != ET_OPTS_RUN)
        return rc;
    cfg->title_given = et_opts_given(&spec, "title") > 0;
    cfg->plots = !no_plots;
    if (no_plots && (cfg->mode == ET_REPORT_MODE_TIMESERIES ||
                     cfg->mode == ET_REPORT_MODE_FUNCTIONS))
        return et_opts_error(&spec, "no-plots", NULL,
                             cfg->mode == ET_REPORT_MODE_FUNCTIONS
                                 ? "--functions only draws figures; leave it "
                                   "out"
                                 : "--timeseries only draws figures; leave "
                                   "it out");
    if (cfg->title_given && cfg->mode == ET_REPORT_MODE_FUNCTIONS)
        return et_opts_error(&spec, "title", cfg->title,
                             "--functions' figures have their own titles; "
                             "leave it out");
    if (no_plots && cfg->mode == ET_REPORT_MODE_TABLES)
        return et_opts_error(&spec, "no-plots", NULL,
                             "--tables draws no figures; leave it out");
    if (cfg->title_given && (cfg->mode == ET_REPORT_MODE_TABLES ||
                             cfg->mode == ET_REPORT_MODE_VALIDATE))
        return et_opts_error(&spec, "title", cfg->title,
                             cfg->mode == ET_REPORT_MODE_TABLES
                                 ? "--tables prints no title; leave it out"
                                 : "--validate has its own title; leave it "
                                   "out");
    return et_opts_checked(&spec);
}
