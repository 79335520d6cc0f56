/* eventide-keys: create a CURVE key directory (server.key, server.pub,
 * client.key, authorized/client.pub) for --curve DIR. */
#include "common/cli.h"
#include "common/curve.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static void
s_usage(FILE *out)
{
    fprintf(out,
            "usage: eventide-keys --dir DIR [--force]\n"
            "  --dir DIR   key directory to create (required): server.key and "
            "client.key\n"
            "              (mode 0600), server.pub, authorized/client.pub\n"
            "  --force     overwrite existing key files (default: refuse)\n"
            "  --help      this text\n");
}

int
main(int argc, char **argv)
{
    static const struct option options[] = {
        {"dir", required_argument, NULL, 'd'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *prog = "eventide-keys", *dir = NULL;
    int force = 0, opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":", options, NULL)) != -1) {
        if (opt == 'd' && optarg[0] && strlen(optarg) < PATH_MAX - 128)
            dir = optarg;
        else if (opt == 'f')
            force = 1;
        else if (opt == 'h') {
            s_usage(stdout);
            return ET_EXIT_OK;
        } else {
            et_cli_error(prog, argv[optind - 1], opt == 'd' ? optarg : NULL,
                         "bad or unknown option (see --help)");
            return ET_EXIT_USAGE;
        }
    }
    if (optind < argc || !dir) {
        et_cli_error(prog, optind < argc ? argv[optind] : "--dir", NULL,
                     optind < argc ? "unexpected argument" : "is required");
        return ET_EXIT_USAGE;
    }
    char why[PATH_MAX + 256];
    if (et_curve_keys_create(dir, force, why, sizeof why) != 0) {
        fprintf(stderr, "%s: %s\n", prog, why);
        return ET_EXIT_RUNTIME;
    }
    printf("keys in %s: server.key, server.pub, client.key (secret files, "
           "mode 0600) and authorized/client.pub\n",
           dir);
    return ET_EXIT_OK;
}
