/* eventide-status: print one stats snapshot of a running broker, or wait
 * until enough instances are up (the launcher's readiness check). */
#include "broker/status.h"
#include "common/cli.h"
#include "common/curve.h"
#include "common/log.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void
s_usage(FILE *out)
{
    fprintf(out, "usage: eventide-status --stats EP [--json] "
                 "[--timeout S] [--wait-instances N] [--curve DIR]\n"
                 "  --stats EP           the broker's PUB endpoint "
                 "(required)\n"
                 "  --json               print JSON instead of a table\n"
                 "  --timeout S          how long to wait (default 5)\n"
                 "  --wait-instances N   wait until N instances are ready "
                 "(default 0)\n"
                 "  --curve DIR          CURVE to a tcp:// --stats, keys "
                 "from DIR\n"
                 "                       (client.key, server.pub) (default: "
                 "none)\n"
                 "  --log-level LEVEL    debug|info|warn|error (default "
                 "warn)\n");
}

int
main(int argc, char **argv)
{
    static const struct option options[] = {
        {"stats", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"timeout", required_argument, NULL, 't'},
        {"wait-instances", required_argument, NULL, 'w'},
        {"curve", required_argument, NULL, 'C'},
        {"log-level", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *prog = "eventide-status", *endpoint = NULL, *curve = NULL;
    et_log_level_t level = ET_LOG_LEVEL_WARN;
    char why[256];
    int json = 0, opt;
    double timeout_s = 5;
    uint64_t wait = 0;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        if (opt == 's' && et_cli_check_endpoint(optarg) == 0)
            endpoint = optarg;
        else if (opt == 'j')
            json = 1;
        else if (opt == 't' &&
                 et_cli_parse_double(optarg, 0.01, 3600, &timeout_s) == 0)
            ;
        else if (opt == 'w' && et_cli_parse_u64(optarg, 0, 100000, &wait) == 0)
            ;
        else if (opt == 'l' && et_log_parse_level(optarg, &level) == 0)
            ;
        else if (opt == 'C') {
            if (et_curve_check_dir(optarg, why, sizeof why) != 0) {
                et_cli_error(prog, "--curve", optarg, why);
                return ET_EXIT_USAGE;
            }
            curve = optarg;
        } else if (opt == 'h') {
            s_usage(stdout);
            return ET_EXIT_OK;
        } else {
            et_cli_error(prog, argv[optind - 1], optarg,
                         "bad or unknown option (see --help)");
            return ET_EXIT_USAGE;
        }
    }
    if (!endpoint) {
        et_cli_error(prog, "--stats", NULL, "is required");
        return ET_EXIT_USAGE;
    }
    et_log_init("status", level);
    et_stats_t stats;
    if (et_status_fetch_curve(endpoint, curve, (long)(timeout_s * 1000),
                              (uint32_t)wait, &stats) != 0) {
        fprintf(stderr, "%s: no %s from %s within %.1f s\n", prog,
                wait ? "snapshot with enough instances" : "stats", endpoint,
                timeout_s);
        return ET_EXIT_RUNTIME;
    }
    if (json) {
        json_t *doc = et_status_to_json(&stats);
        json_dumpf(doc, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(doc);
    } else {
        et_status_print(&stats, stdout);
    }
    return ET_EXIT_OK;
}
