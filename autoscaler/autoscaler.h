/* The autoscaler process: its configuration (command line), the SUB loop
 * over the broker's STATS snapshots, one policy decision per function per
 * tick, and the scale command run asynchronously when a function's desired
 * replica count changes. */
#ifndef ET_AUTOSCALER_H
#define ET_AUTOSCALER_H

#include "autoscaler/policy.h"
#include "common/cli.h"
#include "common/codec.h"
#include "common/log.h"

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ET_AUTOSCALER_PROG "eventide-autoscaler"
#define ET_AUTOSCALER_CMD_MAX 1024 /* template and substituted command */
#define ET_AUTOSCALER_HOST_MAX 254 /* a DNS name's 253 characters */
#define ET_AUTOSCALER_DEFAULT_CMD "eventide scale {function} {replicas}"

typedef struct {
    char stats[ET_ENDPOINT_MAX];
    et_policy_config_t policy;
    char functions[ET_STATS_FUNCTIONS_MAX][ET_NAME_MAX]; /* none: all */
    uint32_t n_functions;
    char scale_cmd[ET_AUTOSCALER_CMD_MAX];
    char host[ET_AUTOSCALER_HOST_MAX];
    char decisions[PATH_MAX];  /* empty: no decisions file */
    uint64_t cmd_timeout_ns;   /* then SIGTERM, and SIGKILL 5 s later */
    uint64_t stats_timeout_ns; /* no decisions on older snapshots */
    int dry_run;               /* decide and log, never run the command */
    et_log_level_t log_level;
    char curve_dir[PATH_MAX]; /* --curve: CURVE keys for tcp://, "" = off */
} et_autoscaler_config_t;

/* Fill 'config' from argv: the chosen policy's defaults first, then every
 * flag in order. Returns 0 to run, 1 when --help was asked for (print
 * et_autoscaler_usage, exit 0), or -1 after printing one
 * "prog: FLAG 'VALUE': why" line on stderr (exit 2). */
int et_autoscaler_config_parse(et_autoscaler_config_t *config, int argc,
                               char **argv);

/* Usage text with every flag and its default per policy. */
void et_autoscaler_usage(FILE *out);

/* Check a scale command template: only {function}, {replicas} and {host}
 * placeholders, at most ET_AUTOSCALER_CMD_MAX - 1 bytes. 0 or -1. */
int et_autoscaler_check_template(const char *tmpl);

/* Substitute into 'tmpl'. 'function' and 'host' must be 1.. characters
 * from [A-Za-z0-9_.-] not starting with '-' (so no shell metacharacter
 * and no option can reach sh or ssh). Returns 0, or -1 with errno EINVAL
 * (bad template or value) or ENAMETOOLONG (result does not fit 'size'). */
int et_autoscaler_format_command(const char *tmpl, const char *function,
                                 uint32_t replicas, const char *host, char *buf,
                                 size_t size);

typedef struct et_autoscaler_t et_autoscaler_t;

/* Open the decisions file, connect the SUB socket. Returns NULL (errno
 * set, reason logged) on failure. Copies 'config'. */
et_autoscaler_t *et_autoscaler_new(const et_autoscaler_config_t *config);

/* Destroy *self_p and set it to NULL. Scale commands still running are
 * left to finish (they are logged). Does nothing if *self_p is NULL. */
void et_autoscaler_destroy(et_autoscaler_t **self_p);

/* Decide every tick until *stop becomes non-zero. Returns 0, or -1 on a
 * runtime error (logged). */
int et_autoscaler_run(et_autoscaler_t *self, const volatile sig_atomic_t *stop);

#endif
