/* The option table's parser and help printer. No getopt: its global state
 * (optind, opterr, argument permutation) made every program parse a little
 * differently, and a table walk is short. */
#include "common/opts.h"

#include "common/log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#ifndef ET_VERSION
#define ET_VERSION "unknown"
#endif

#define S_HELP_COLUMN 26
#define S_HELP_WIDTH 80

et_opt_t *
et_opts_find(et_opts_t *spec, const char *name)
{
    for (size_t i = 0; i < spec->n_opts; i++)
        if (strcmp(spec->opts[i].name, name) == 0)
            return &spec->opts[i];
    return NULL;
}

unsigned
et_opts_given(const et_opts_t *spec, const char *name)
{
    for (size_t i = 0; i < spec->n_opts; i++)
        if (strcmp(spec->opts[i].name, name) == 0)
            return spec->opts[i].given;
    return 0;
}

int
et_opts_error(const et_opts_t *spec, const char *flag, const char *value,
              const char *why)
{
    char word[96];
    /* A long name gets its dashes; a whole word ("usage") stays as is. */
    if (flag[0] != '-' && strchr(flag, ' ') == NULL &&
        et_opts_find((et_opts_t *)spec, flag) != NULL)
        snprintf(word, sizeof word, "--%s", flag);
    else
        snprintf(word, sizeof word, "%s", flag);
    et_cli_error(spec->prog, word, value, why);
    return ET_OPTS_USAGE;
}

int
et_opts_exit_status(int parse_result)
{
    return parse_result == ET_OPTS_USAGE ? ET_EXIT_USAGE : ET_EXIT_OK;
}

int
et_opts_checked(const et_opts_t *spec)
{
    return spec->check ? ET_OPTS_EXIT : ET_OPTS_RUN;
}

/* ---- values ---------------------------------------------------------------
 */

/* A duration as the shortest exact text: "10ms", "1h", "250us". */
static void
s_format_duration(uint64_t ns, char *out, size_t size)
{
    static const struct {
        uint64_t ns;
        const char *unit;
    } units[] = {{3600000000000ULL, "h"}, {60000000000ULL, "min"},
                 {1000000000ULL, "s"},    {1000000ULL, "ms"},
                 {1000ULL, "us"},         {1ULL, "ns"}};
    if (ns == 0) {
        snprintf(out, size, "0");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ns % units[i].ns == 0) {
            snprintf(out, size, "%" PRIu64 "%s", ns / units[i].ns,
                     units[i].unit);
            return;
        }
    }
}

static void
s_default_why(const et_opt_t *opt, char *why, size_t size)
{
    char lo[32], hi[32];
    switch (opt->type) {
    case ET_OPT_STRING:
        snprintf(why, size, "expected 1 to %zu bytes", opt->size - 1);
        break;
    case ET_OPT_ENDPOINT:
        snprintf(why, size,
                 "expected a tcp://, ipc:// or inproc:// "
                 "endpoint");
        break;
    case ET_OPT_NAME:
        snprintf(why, size,
                 "expected 1 to %zu characters from A-Z a-z 0-9 _ . -",
                 opt->size - 1);
        break;
    case ET_OPT_U32:
    case ET_OPT_U64:
        snprintf(why, size, "expected an integer from %" PRIu64 " to %" PRIu64,
                 opt->umin, opt->umax);
        break;
    case ET_OPT_I64:
        snprintf(why, size, "expected an integer from %" PRId64 " to %" PRId64,
                 opt->imin, opt->imax);
        break;
    case ET_OPT_DOUBLE:
        snprintf(why, size, "expected a number from %g to %g", opt->dmin,
                 opt->dmax);
        break;
    case ET_OPT_DURATION:
        s_format_duration(opt->umin, lo, sizeof lo);
        s_format_duration(opt->umax, hi, sizeof hi);
        snprintf(why, size, "expected a duration from %s to %s", lo, hi);
        break;
    case ET_OPT_CHOICE: {
        size_t used = (size_t)snprintf(why, size, "expected ");
        for (size_t i = 0; opt->choices[i] && used < size; i++)
            used += (size_t)snprintf(why + used, size - used, "%s%s",
                                     i == 0                ? ""
                                     : opt->choices[i + 1] ? ", "
                                                           : " or ",
                                     opt->choices[i]);
        break;
    }
    case ET_OPT_LOG_LEVEL:
        snprintf(why, size, "expected debug, info, warn, error or off");
        break;
    case ET_OPT_FLAG:
    case ET_OPT_CUSTOM:
        snprintf(why, size, "invalid value");
        break;
    }
}

static int
s_copy_text(const et_opt_t *opt, const char *value)
{
    size_t len = strlen(value);
    if (len == 0 || len >= opt->size)
        return -1;
    memcpy(opt->dest, value, len + 1);
    return 0;
}

/* Store 'value' into opt->dest. 0, or -1 with 'why' filled. */
static int
s_set(const et_opt_t *opt, const char *value, char *why, size_t why_size)
{
    why[0] = '\0';
    int rc = -1;
    switch (opt->type) {
    case ET_OPT_FLAG:
        *(int *)opt->dest = 1;
        return 0;
    case ET_OPT_STRING:
        rc = s_copy_text(opt, value);
        break;
    case ET_OPT_ENDPOINT:
        rc = et_cli_check_endpoint(value) == 0 ? s_copy_text(opt, value) : -1;
        break;
    case ET_OPT_NAME:
        rc = et_cli_check_name(value, opt->size - 1) == 0
                 ? s_copy_text(opt, value)
                 : -1;
        break;
    case ET_OPT_U32: {
        uint64_t v;
        uint64_t max = opt->umax > UINT32_MAX ? UINT32_MAX : opt->umax;
        rc = et_cli_parse_u64(value, opt->umin, max, &v);
        if (rc == 0)
            *(uint32_t *)opt->dest = (uint32_t)v;
        break;
    }
    case ET_OPT_U64:
        rc = et_cli_parse_u64(value, opt->umin, opt->umax,
                              (uint64_t *)opt->dest);
        break;
    case ET_OPT_I64: {
        const char *digits =
            value[0] == '-' || value[0] == '+' ? value + 1 : value;
        uint64_t magnitude;
        if (et_cli_parse_u64(digits, 0, (uint64_t)INT64_MAX + 1, &magnitude) !=
            0)
            break;
        int64_t v;
        if (value[0] == '-')
            v = magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN
                                                     : -(int64_t)magnitude;
        else if (magnitude > (uint64_t)INT64_MAX)
            break;
        else
            v = (int64_t)magnitude;
        if (v < opt->imin || v > opt->imax)
            break;
        *(int64_t *)opt->dest = v;
        rc = 0;
        break;
    }
    case ET_OPT_DOUBLE:
        rc = et_cli_parse_double(value, opt->dmin, opt->dmax,
                                 (double *)opt->dest);
        break;
    case ET_OPT_DURATION:
        rc = et_cli_parse_duration_ns(
            value, opt->unit_ns ? opt->unit_ns : 1000000000ULL, opt->umin,
            opt->umax, (uint64_t *)opt->dest);
        break;
    case ET_OPT_CHOICE:
        for (int i = 0; opt->choices[i]; i++) {
            if (strcmp(opt->choices[i], value) == 0) {
                *(int *)opt->dest = i;
                rc = 0;
                break;
            }
        }
        break;
    case ET_OPT_LOG_LEVEL:
        rc = et_log_parse_level(value, (et_log_level_t *)opt->dest);
        break;
    case ET_OPT_CUSTOM:
        rc = opt->parse(value, opt->dest, why, why_size);
        break;
    }
    if (rc != 0 && why[0] == '\0')
        s_default_why(opt, why, why_size);
    return rc == 0 ? 0 : -1;
}

/* ---- help -----------------------------------------------------------------
 */

/* Print 'text' as words wrapped at S_HELP_WIDTH, every line after the
 * first indented to S_HELP_COLUMN; 'column' is where the first starts. */
static void
s_wrap(FILE *out, const char *text, size_t column)
{
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        size_t word = strcspn(p, " ");
        if (word == 0)
            break;
        if (column > S_HELP_COLUMN && column + 1 + word > S_HELP_WIDTH) {
            fprintf(out, "\n%*s", S_HELP_COLUMN, "");
            column = S_HELP_COLUMN;
        } else if (column > S_HELP_COLUMN) {
            fputc(' ', out);
            column++;
        }
        fwrite(p, 1, word, out);
        column += word;
        p += word;
    }
    fputc('\n', out);
}

static void
s_print_option(FILE *out, const char *shortname, const char *name,
               const char *arg, const char *help)
{
    int len =
        fprintf(out, "  %s%s--%s%s%s", shortname, shortname[0] ? ", " : "    ",
                name, arg ? " " : "", arg ? arg : "");
    /* A long option pushes its help to the next line. */
    if (len < 0 || len + 1 >= S_HELP_COLUMN)
        fprintf(out, "\n%*s", S_HELP_COLUMN, "");
    else
        fprintf(out, "%*s", S_HELP_COLUMN - len, "");
    s_wrap(out, help, S_HELP_COLUMN);
}

void
et_opts_print_help(const et_opts_t *spec, FILE *out)
{
    fprintf(out, "usage: %s %s\n", spec->prog, spec->usage);
    if (spec->about) {
        fputc('\n', out);
        fprintf(out, "%s\n", spec->about);
    }
    fputc('\n', out);
    for (size_t i = 0; i < spec->n_opts; i++) {
        const et_opt_t *opt = &spec->opts[i];
        if (opt->hidden)
            continue;
        char shortname[3] = "";
        if (opt->short_name)
            snprintf(shortname, sizeof shortname, "-%c", opt->short_name);
        char help[1024];
        size_t used = (size_t)snprintf(help, sizeof help, "%s",
                                       opt->help ? opt->help : "");
        if (opt->required && used < sizeof help)
            used += (size_t)snprintf(help + used, sizeof help - used,
                                     " (required)");
        else if (opt->def && used < sizeof help)
            used += (size_t)snprintf(help + used, sizeof help - used,
                                     " (default %s)", opt->def);
        if (opt->repeat && used < sizeof help)
            snprintf(help + used, sizeof help - used, " (repeatable)");
        const char *arg =
            opt->type == ET_OPT_FLAG ? NULL : (opt->arg ? opt->arg : "VALUE");
        s_print_option(out, shortname, opt->name, arg, help);
    }
    s_print_option(out, "", "check", NULL,
                   "check the options, then exit without running: 0 when "
                   "they are valid, 2 when not");
    s_print_option(out, "-h", "help", NULL, "this text");
    s_print_option(out, "", "version", NULL, "the version");
    if (spec->epilog)
        fprintf(out, "\n%s", spec->epilog);
}

/* ---- parsing --------------------------------------------------------------
 */

static et_opt_t *
s_find_short(et_opts_t *spec, char c)
{
    for (size_t i = 0; i < spec->n_opts; i++)
        if (spec->opts[i].short_name == c)
            return &spec->opts[i];
    return NULL;
}

static int
s_apply_defaults(et_opts_t *spec)
{
    char why[256];
    for (size_t i = 0; i < spec->n_opts; i++) {
        et_opt_t *opt = &spec->opts[i];
        opt->given = 0;
        if (!opt->def || opt->type == ET_OPT_FLAG)
            continue;
        if (s_set(opt, opt->def, why, sizeof why) != 0) {
            /* A programming error in the table, but say which. */
            char flag[80];
            snprintf(flag, sizeof flag, "--%s", opt->name);
            et_cli_error(spec->prog, flag, opt->def, "bad built-in default");
            return -1;
        }
    }
    return 0;
}

int
et_opts_parse(et_opts_t *spec, int argc, char **argv)
{
    spec->check = 0;
    if (s_apply_defaults(spec) != 0)
        return ET_OPTS_USAGE;
    int help = 0, version = 0;
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        char flag[80];
        const char *value = NULL;
        et_opt_t *opt = NULL;
        if (strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0) {
            help = 1;
            continue;
        }
        if (strcmp(word, "--version") == 0) {
            version = 1;
            continue;
        }
        if (strcmp(word, "--check") == 0) {
            spec->check = 1;
            continue;
        }
        if (word[0] == '-' && word[1] == '-' && word[2] != '\0') {
            const char *name = word + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            char key[64];
            if (len < sizeof key) {
                memcpy(key, name, len);
                key[len] = '\0';
                opt = et_opts_find(spec, key);
            }
            snprintf(flag, sizeof flag, "--%.*s", (int)(len < 64 ? len : 64),
                     name);
            if (eq)
                value = eq + 1;
        } else if (word[0] == '-' && word[1] != '\0' && word[2] == '\0') {
            opt = s_find_short(spec, word[1]);
            snprintf(flag, sizeof flag, "%s", word);
        } else {
            et_cli_error(spec->prog, word, NULL,
                         "unexpected argument (options start with --)");
            return ET_OPTS_USAGE;
        }
        if (!opt) {
            char why[160];
            snprintf(why, sizeof why, "unknown option (see %s --help)",
                     spec->prog);
            et_cli_error(spec->prog, flag, NULL, why);
            return ET_OPTS_USAGE;
        }
        if (opt->type == ET_OPT_FLAG) {
            if (value) {
                et_cli_error(spec->prog, flag, value, "takes no value");
                return ET_OPTS_USAGE;
            }
        } else if (!value) {
            if (i + 1 >= argc) {
                et_cli_error(spec->prog, flag, NULL, "needs a value");
                return ET_OPTS_USAGE;
            }
            value = argv[++i];
        }
        char why[256];
        if (s_set(opt, value, why, sizeof why) != 0) {
            et_cli_error(spec->prog, flag, value, why);
            return ET_OPTS_USAGE;
        }
        opt->given++;
    }
    if (help) {
        et_opts_print_help(spec, stdout);
        return ET_OPTS_EXIT;
    }
    if (version) {
        printf("%s (Eventide) %s\n", spec->prog, ET_VERSION);
        return ET_OPTS_EXIT;
    }
    for (size_t i = 0; i < spec->n_opts; i++) {
        const et_opt_t *opt = &spec->opts[i];
        if (opt->required && opt->given == 0) {
            char flag[80];
            snprintf(flag, sizeof flag, "--%s", opt->name);
            et_cli_error(spec->prog, flag, NULL, "is required");
            return ET_OPTS_USAGE;
        }
    }
    return ET_OPTS_RUN;
}
