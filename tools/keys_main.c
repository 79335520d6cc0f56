/* eventide-keys: create a CURVE key directory (server.key, server.pub,
 * client.key, authorized/client.pub) for --curve DIR. */
#include "common/curve.h"
#include "common/opts.h"

#include <limits.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
    char dir[PATH_MAX - 128] = "";
    int force = 0;
    et_opt_t opts[] = {
        {.name = "dir",
         .type = ET_OPT_STRING,
         .dest = dir,
         .size = sizeof dir,
         .arg = "DIR",
         .required = 1,
         .help = "key directory to create: server.key and client.key (mode "
                 "0600), server.pub, authorized/client.pub"},
        {.name = "force",
         .type = ET_OPT_FLAG,
         .dest = &force,
         .help = "overwrite existing key files (default: refuse)"},
    };
    et_opts_t spec = {.prog = "eventide-keys",
                      .usage = "--dir DIR [--force]",
                      .about = "Creates the CURVE keys that --curve DIR "
                               "reads (./eventide keys).",
                      .opts = opts,
                      .n_opts = sizeof opts / sizeof opts[0]};
    int rc = et_opts_parse(&spec, argc, argv);
    if (rc == ET_OPTS_RUN)
        rc = et_opts_checked(&spec);
    if (rc != ET_OPTS_RUN)
        return et_opts_exit_status(rc);
    char why[PATH_MAX + 256];
    if (et_curve_keys_create(dir, force, why, sizeof why) != 0) {
        fprintf(stderr, "eventide-keys: %s\n", why);
        return ET_EXIT_RUNTIME;
    }
    printf("keys in %s: server.key, server.pub, client.key (secret files, "
           "mode 0600) and authorized/client.pub\n",
           dir);
    return ET_EXIT_OK;
}
