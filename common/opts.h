/* Command lines from one table per program. Each option names its long and
 * short form, its value type, where the value goes, its bounds, its default
 * and its help text; et_opts_parse applies the defaults, reads argv, checks
 * every value and prints --help and --version from the same table, so the
 * help can never disagree with the parser. Every error is one line on
 * stderr, "PROG: --flag 'value': why", and every program maps the result to
 * the same exit statuses (common/cli.h). */
#ifndef ET_OPTS_H
#define ET_OPTS_H

#include "common/cli.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    ET_OPT_FLAG,      /* no value: int dest set to 1 */
    ET_OPT_STRING,    /* text of 1..size-1 bytes into char dest[size] */
    ET_OPT_ENDPOINT,  /* tcp://, ipc:// or inproc:// into char[size] */
    ET_OPT_NAME,      /* [A-Za-z0-9_.-], 1..size-1 bytes, into char[size] */
    ET_OPT_U32,       /* uint32_t in [umin, umax] */
    ET_OPT_U64,       /* uint64_t in [umin, umax] */
    ET_OPT_I64,       /* int64_t in [imin, imax] */
    ET_OPT_DOUBLE,    /* finite double in [dmin, dmax] */
    ET_OPT_DURATION,  /* uint64_t ns in [umin, umax]; a bare number is
                         seconds unless 'unit_ns' says otherwise */
    ET_OPT_CHOICE,    /* int dest: index of the value in 'choices' */
    ET_OPT_LOG_LEVEL, /* et_log_level_t dest */
    ET_OPT_CUSTOM     /* 'parse' fills dest; with 'repeat' once per use */
} et_opt_type_t;

/* A custom value parser: 0, or -1 with the reason in 'why' ("" for the
 * generic "invalid value"). */
typedef int (*et_opt_parse_fn)(const char *value, void *dest, char *why,
                               size_t why_size);

typedef struct {
    const char *name; /* long name without "--" */
    char short_name;  /* '\0': none */
    et_opt_type_t type;
    void *dest;
    size_t size;         /* STRING, ENDPOINT, NAME: capacity of dest */
    const char *arg;     /* value's name in the help: "N", "EP", "S" */
    const char *help;    /* one sentence; wrapped to 80 columns */
    const char *def;     /* default, parsed like a value before argv and
                            shown in the help; NULL: none */
    uint64_t umin, umax; /* U32, U64, DURATION (ns) */
    int64_t imin, imax;  /* I64 */
    double dmin, dmax;   /* DOUBLE */
    uint64_t unit_ns;    /* DURATION: unit of a bare number (0: seconds) */
    const char *const *choices; /* CHOICE: NULL-terminated */
    et_opt_parse_fn parse;      /* CUSTOM */
    int repeat;                 /* CUSTOM: may be given several times */
    int required;               /* must be given */
    int hidden; /* parsed but left out of the help (tests, launcher) */
    /* Output: how many times argv gave it. */
    unsigned given;
} et_opt_t;

typedef struct {
    const char *prog;   /* "eventide-broker": every message starts with it */
    const char *usage;  /* the usage line after the program's name */
    const char *about;  /* paragraph after the usage line, or NULL */
    const char *epilog; /* text after the options, or NULL */
    et_opt_t *opts;
    size_t n_opts;
    int check; /* output: --check was given */
} et_opts_t;

/* What et_opts_parse asks of main(). */
#define ET_OPTS_RUN 0   /* parsed and valid: run */
#define ET_OPTS_EXIT 1  /* --help, --version or --check done: exit 0 */
#define ET_OPTS_USAGE 2 /* an error was printed: exit 2 */

/* Apply every default, then parse argv[1..argc-1]: "--name VALUE",
 * "--name=VALUE", "-s VALUE" and flags "--name", "-s". The last use of an
 * option wins unless it repeats. "-h"/"--help" prints the help on stdout,
 * "--version" the version; "--check" parses everything, then exits
 * without running (callers that validate more call et_opts_checked before
 * returning ET_OPTS_RUN). Arguments that are not options are errors.
 * Returns ET_OPTS_RUN, ET_OPTS_EXIT or ET_OPTS_USAGE. */
int et_opts_parse(et_opts_t *spec, int argc, char **argv);

/* After a successful et_opts_parse and the caller's own checks: returns
 * ET_OPTS_EXIT when --check was given (the options are valid; nothing is
 * to run), else ET_OPTS_RUN. */
int et_opts_checked(const et_opts_t *spec);

/* The option named 'name' ("frontend"), or NULL. */
et_opt_t *et_opts_find(et_opts_t *spec, const char *name);

/* How many times argv gave option 'name' (0 for an unknown name). */
unsigned et_opts_given(const et_opts_t *spec, const char *name);

/* Print "PROG: --FLAG 'VALUE': WHY" (VALUE NULL: "PROG: --FLAG: WHY") and
 * return ET_OPTS_USAGE, for checks that span options. 'flag' is a long
 * name without "--", or a whole word such as "usage". */
int et_opts_error(const et_opts_t *spec, const char *flag, const char *value,
                  const char *why);

/* The help text: usage, about, one line or more per option (with its
 * default and "required"), epilog. */
void et_opts_print_help(const et_opts_t *spec, FILE *out);

/* The exit status for a parse result other than ET_OPTS_RUN. */
int et_opts_exit_status(int parse_result);

#endif
