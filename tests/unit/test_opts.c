/* Unit tests for common/opts: defaults, every value type and its bounds,
 * the one-line errors, --help/--version/--check and the exit contract. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "common/log.h"
#include "common/opts.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef struct {
    int verbose;
    char endpoint[ET_ENDPOINT_MAX];
    char name[8];
    char text[16];
    uint32_t slots;
    uint64_t cap;
    int64_t skew;
    double rate;
    uint64_t period_ns;
    uint64_t delay_ns;
    int mode;
    et_log_level_t level;
    char keys[4][16];
    unsigned n_keys;
} s_cfg_t;

static const char *const s_modes[] = {"sleep", "spin", "burst", NULL};

static int
s_parse_key(const char *value, void *dest, char *why, size_t why_size)
{
    s_cfg_t *cfg = dest;
    if (!strchr(value, '=')) {
        snprintf(why, why_size, "expected KEY=VALUE");
        return -1;
    }
    if (cfg->n_keys == 4) {
        snprintf(why, why_size, "at most 4");
        return -1;
    }
    snprintf(cfg->keys[cfg->n_keys++], 16, "%s", value);
    return 0;
}

/* The table a program would build, pointing into *cfg. */
static et_opts_t
s_spec(s_cfg_t *cfg, et_opt_t *opts)
{
    memset(cfg, 0, sizeof *cfg);
    const et_opt_t table[] = {
        {.name = "verbose",
         .short_name = 'v',
         .type = ET_OPT_FLAG,
         .dest = &cfg->verbose,
         .help = "say more"},
        {.name = "endpoint",
         .type = ET_OPT_ENDPOINT,
         .dest = cfg->endpoint,
         .size = sizeof cfg->endpoint,
         .arg = "EP",
         .required = 1,
         .help = "where to connect"},
        {.name = "name",
         .type = ET_OPT_NAME,
         .dest = cfg->name,
         .size = sizeof cfg->name,
         .def = "abc",
         .help = "a name"},
        {.name = "text",
         .type = ET_OPT_STRING,
         .dest = cfg->text,
         .size = sizeof cfg->text,
         .help = "free text"},
        {.name = "slots",
         .short_name = 'n',
         .type = ET_OPT_U32,
         .dest = &cfg->slots,
         .umin = 1,
         .umax = 64,
         .def = "1",
         .arg = "N",
         .help = "slots"},
        {.name = "cap",
         .type = ET_OPT_U64,
         .dest = &cfg->cap,
         .umin = 1,
         .umax = 10000000,
         .def = "10000",
         .arg = "N",
         .help = "queue bound"},
        {.name = "skew",
         .type = ET_OPT_I64,
         .dest = &cfg->skew,
         .imin = -1000,
         .imax = 1000,
         .def = "0",
         .help = "skew"},
        {.name = "rate",
         .type = ET_OPT_DOUBLE,
         .dest = &cfg->rate,
         .dmin = 0,
         .dmax = 1e6,
         .def = "10",
         .help = "rate"},
        {.name = "period",
         .type = ET_OPT_DURATION,
         .dest = &cfg->period_ns,
         .umin = 10000000ULL,
         .umax = 3600000000000ULL,
         .def = "1",
         .help = "period"},
        {.name = "delay",
         .type = ET_OPT_DURATION,
         .dest = &cfg->delay_ns,
         .umin = 0,
         .umax = 60000000000ULL,
         .unit_ns = 1000000ULL,
         .def = "5",
         .help = "delay in ms"},
        {.name = "mode",
         .type = ET_OPT_CHOICE,
         .dest = &cfg->mode,
         .choices = s_modes,
         .def = "sleep",
         .help = "mode"},
        {.name = "log-level",
         .type = ET_OPT_LOG_LEVEL,
         .dest = &cfg->level,
         .def = "info",
         .help = "log level"},
        {.name = "key",
         .type = ET_OPT_CUSTOM,
         .dest = cfg,
         .parse = s_parse_key,
         .repeat = 1,
         .arg = "K=V",
         .help = "a pair"},
    };
    memcpy(opts, table, sizeof table);
    return (et_opts_t){.prog = "prog",
                       .usage = "--endpoint EP [options]",
                       .about = "A test program.",
                       .opts = opts,
                       .n_opts = sizeof table / sizeof table[0]};
}

#define S_OPTS_MAX 16

/* Run et_opts_parse with stderr (or stdout) captured into 'out'. */
static int
s_parse_capture(et_opts_t *spec, int argc, char **argv, int fd, char *out,
                size_t size)
{
    char path[] = "/tmp/et-test-opts-XXXXXX";
    int tmp = mkstemp(path);
    assert_true(tmp >= 0);
    fflush(fd == 1 ? stdout : stderr);
    int saved = dup(fd);
    dup2(tmp, fd);
    int rc = et_opts_parse(spec, argc, argv);
    fflush(fd == 1 ? stdout : stderr);
    dup2(saved, fd);
    close(saved);
    lseek(tmp, 0, SEEK_SET);
    ssize_t n = read(tmp, out, size - 1);
    out[n > 0 ? n : 0] = '\0';
    close(tmp);
    unlink(path);
    return rc;
}

static void
test_opts_defaults_apply_before_argv(void **state)
{
    (void)state;
    s_cfg_t cfg;
    et_opt_t opts[S_OPTS_MAX];
    et_opts_t spec = s_spec(&cfg, opts);
    char *argv[] = {"prog", "--endpoint", "ipc:///tmp/x"};
    assert_int_equal(et_opts_parse(&spec, ARGC(argv), argv), ET_OPTS_RUN);
    assert_string_equal(cfg.endpoint, "ipc:///tmp/x");
    assert_string_equal(cfg.name, "abc");
    assert_int_equal(cfg.slots, 1);
    assert_int_equal(cfg.cap, 10000);
    assert_true(cfg.rate == 10);
    assert_int_equal(cfg.period_ns, 1000000000ULL);
    assert_int_equal(cfg.delay_ns, 5000000ULL);
    assert_int_equal(cfg.mode, 0);
    assert_int_equal(cfg.level, ET_LOG_LEVEL_INFO);
    assert_int_equal(cfg.verbose, 0);
    assert_int_equal(et_opts_given(&spec, "endpoint"), 1);
    assert_int_equal(et_opts_given(&spec, "cap"), 0);
    assert_int_equal(et_opts_checked(&spec), ET_OPTS_RUN);
}

static void
test_opts_every_form_and_type(void **state)
{
    (void)state;
    s_cfg_t cfg;
    et_opt_t opts[S_OPTS_MAX];
    et_opts_t spec = s_spec(&cfg, opts);
    char *argv[] = {"prog",        "--endpoint=tcp://127.0.0.1:5",
                    "-v",          "-n",
                    "64",          "--cap",
                    "10000000",    "--skew=-1000",
                    "--rate",      "2.5",
                    "--period",    "10ms",
                    "--delay",     "250us",
                    "--mode",      "burst",
                    "--log-level", "debug",
                    "--name",      "a_b.c-7",
                    "--text",      "hello world",
                    "--key",       "a=1",
                    "--key=b=2"};
    assert_int_equal(et_opts_parse(&spec, ARGC(argv), argv), ET_OPTS_RUN);
    assert_string_equal(cfg.endpoint, "tcp://127.0.0.1:5");
    assert_int_equal(cfg.verbose, 1);
    assert_int_equal(cfg.slots, 64);
    assert_int_equal(cfg.cap, 10000000);
    assert_int_equal(cfg.skew, -1000);
    assert_true(cfg.rate == 2.5);
    assert_int_equal(cfg.period_ns, 10000000ULL);
    assert_int_equal(cfg.delay_ns, 250000ULL);
    assert_int_equal(cfg.mode, 2);
    assert_int_equal(cfg.level, ET_LOG_LEVEL_DEBUG);
    assert_string_equal(cfg.name, "a_b.c-7");
    assert_string_equal(cfg.text, "hello world");
    assert_int_equal(cfg.n_keys, 2);
    assert_string_equal(cfg.keys[0], "a=1");
    assert_string_equal(cfg.keys[1], "b=2");
    assert_int_equal(et_opts_given(&spec, "key"), 2);
}

static void
test_opts_last_use_wins(void **state)
{
    (void)state;
    s_cfg_t cfg;
    et_opt_t opts[S_OPTS_MAX];
    et_opts_t spec = s_spec(&cfg, opts);
    char *argv[] = {"prog", "--endpoint", "ipc://a", "--cap",
                    "5",    "--cap",      "7"};
    assert_int_equal(et_opts_parse(&spec, ARGC(argv), argv), ET_OPTS_RUN);
    assert_int_equal(cfg.cap, 7);
    assert_int_equal(et_opts_given(&spec, "cap"), 2);
}

static void
test_opts_bad_values_name_the_flag(void **state)
{
    (void)state;
    static const struct {
        const char *flag;
        const char *value;
        const char *message;
    } cases[] = {
        {"--slots", "0",
         "prog: --slots '0': expected an integer from 1 to 64\n"},
        {"--slots", "65",
         "prog: --slots '65': expected an integer from 1 to "
         "64\n"},
        {"--slots", "4x",
         "prog: --slots '4x': expected an integer from 1 to "
         "64\n"},
        {"--cap", "-1",
         "prog: --cap '-1': expected an integer from 1 to "
         "10000000\n"},
        {"--skew", "1001",
         "prog: --skew '1001': expected an integer from "
         "-1000 to 1000\n"},
        {"--skew", "--5",
         "prog: --skew '--5': expected an integer from -1000 "
         "to 1000\n"},
        {"--rate", "nan",
         "prog: --rate 'nan': expected a number from 0 to "
         "1e+06\n"},
        {"--period", "1ms",
         "prog: --period '1ms': expected a duration from "
         "10ms to 1h\n"},
        {"--period", "2h",
         "prog: --period '2h': expected a duration from "
         "10ms to 1h\n"},
        {"--mode", "fast",
         "prog: --mode 'fast': expected sleep, spin or "
         "burst\n"},
        {"--log-level", "loud",
         "prog: --log-level 'loud': expected debug, "
         "info, warn, error or off\n"},
        {"--name", "a b",
         "prog: --name 'a b': expected 1 to 7 characters "
         "from A-Z a-z 0-9 _ . -\n"},
        {"--name", "abcdefgh",
         "prog: --name 'abcdefgh': expected 1 to 7 "
         "characters from A-Z a-z 0-9 _ . -\n"},
        {"--text", "", "prog: --text '': expected 1 to 15 bytes\n"},
        {"--text", "0123456789abcdef",
         "prog: --text '0123456789abcdef': "
         "expected 1 to 15 bytes\n"},
        {"--key", "novalue", "prog: --key 'novalue': expected KEY=VALUE\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_cfg_t cfg;
        et_opt_t opts[S_OPTS_MAX];
        et_opts_t spec = s_spec(&cfg, opts);
        char *argv[] = {"prog", "--endpoint", "ipc://a", (char *)cases[i].flag,
                        (char *)cases[i].value};
        char err[512];
        int rc = s_parse_capture(&spec, ARGC(argv), argv, 2, err, sizeof err);
        if (rc != ET_OPTS_USAGE)
            fail_msg("%s '%s' accepted", cases[i].flag, cases[i].value);
        assert_string_equal(err, cases[i].message);
        assert_int_equal(et_opts_exit_status(rc), ET_EXIT_USAGE);
    }
}

static void
test_opts_usage_errors(void **state)
{
    (void)state;
    static const struct {
        const char *args[3];
        int n;
        const char *message;
    } cases[] = {
        {{"--bogus"}, 1, "prog: --bogus: unknown option (see prog --help)\n"},
        {{"-x"}, 1, "prog: -x: unknown option (see prog --help)\n"},
        {{"stray"},
         1,
         "prog: stray: unexpected argument (options start with --)\n"},
        {{"--cap"}, 1, "prog: --cap: needs a value\n"},
        {{"--verbose=1"}, 1, "prog: --verbose '1': takes no value\n"},
        {{"--endpoint", "http://x"},
         2,
         "prog: --endpoint 'http://x': expected a tcp://, ipc:// or "
         "inproc:// endpoint\n"},
        {{"--cap", "3"}, 2, "prog: --endpoint: is required\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_cfg_t cfg;
        et_opt_t opts[S_OPTS_MAX];
        et_opts_t spec = s_spec(&cfg, opts);
        char *argv[4] = {"prog"};
        for (int k = 0; k < cases[i].n; k++)
            argv[k + 1] = (char *)cases[i].args[k];
        char err[512];
        int rc =
            s_parse_capture(&spec, cases[i].n + 1, argv, 2, err, sizeof err);
        assert_int_equal(rc, ET_OPTS_USAGE);
        assert_string_equal(err, cases[i].message);
    }
}

static void
test_opts_help_lists_options_defaults_and_required(void **state)
{
    (void)state;
    s_cfg_t cfg;
    et_opt_t opts[S_OPTS_MAX];
    et_opts_t spec = s_spec(&cfg, opts);
    char *argv[] = {"prog", "-h"};
    char out[4096];
    int rc = s_parse_capture(&spec, ARGC(argv), argv, 1, out, sizeof out);
    assert_int_equal(rc, ET_OPTS_EXIT);
    assert_int_equal(et_opts_exit_status(rc), ET_EXIT_OK);
    assert_non_null(strstr(out, "usage: prog --endpoint EP [options]\n"));
    assert_non_null(strstr(out, "A test program."));
    assert_non_null(strstr(out, "  -v, --verbose"));
    assert_non_null(strstr(out, "      --endpoint EP"));
    assert_non_null(strstr(out, "where to connect (required)"));
    assert_non_null(strstr(out, "queue bound (default 10000)"));
    assert_non_null(strstr(out, "a pair (repeatable)"));
    assert_non_null(strstr(out, "--help"));
    assert_non_null(strstr(out, "--version"));
    assert_non_null(strstr(out, "--check"));
    /* Wrapped: no line is wider than 80 columns. */
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
        assert_true(strlen(line) <= 80);
}

static void
test_opts_help_needs_no_required_option(void **state)
{
    (void)state;
    s_cfg_t cfg;
    et_opt_t opts[S_OPTS_MAX];
    et_opts_t spec = s_spec(&cfg, opts);
    char *argv[] = {"prog", "--help"};
    char out[4096];
    assert_int_equal(s_parse_capture(&spec, 2, argv, 1, out, sizeof out),
                     ET_OPTS_EXIT);
}

static void
test_opts_version(void **state)
{
    (void)state;
    s_cfg_t cfg;
    et_opt_t opts[S_OPTS_MAX];
    et_opts_t spec = s_spec(&cfg, opts);
    char *argv[] = {"prog", "--version"};
    char out[256];
    assert_int_equal(s_parse_capture(&spec, 2, argv, 1, out, sizeof out),
                     ET_OPTS_EXIT);
    assert_non_null(strstr(out, "prog (Eventide) "));
}

static void
test_opts_check_validates_without_running(void **state)
{
    (void)state;
    s_cfg_t cfg;
    et_opt_t opts[S_OPTS_MAX];
    et_opts_t spec = s_spec(&cfg, opts);
    char *ok[] = {"prog", "--check", "--endpoint", "ipc://a"};
    assert_int_equal(et_opts_parse(&spec, ARGC(ok), ok), ET_OPTS_RUN);
    assert_int_equal(et_opts_checked(&spec), ET_OPTS_EXIT);

    spec = s_spec(&cfg, opts);
    char *bad[] = {"prog", "--check", "--endpoint", "ipc://a", "--cap", "0"};
    char err[256];
    assert_int_equal(s_parse_capture(&spec, ARGC(bad), bad, 2, err, sizeof err),
                     ET_OPTS_USAGE);
}

static void
test_opts_error_helper_adds_dashes(void **state)
{
    (void)state;
    s_cfg_t cfg;
    et_opt_t opts[S_OPTS_MAX];
    et_opts_t spec = s_spec(&cfg, opts);
    char path[] = "/tmp/et-test-opts-XXXXXX";
    int tmp = mkstemp(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(tmp, 2);
    assert_int_equal(et_opts_error(&spec, "cap", "9", "too small"),
                     ET_OPTS_USAGE);
    assert_int_equal(et_opts_error(&spec, "usage", NULL, "one thing"),
                     ET_OPTS_USAGE);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char out[256];
    lseek(tmp, 0, SEEK_SET);
    ssize_t n = read(tmp, out, sizeof out - 1);
    out[n > 0 ? n : 0] = '\0';
    close(tmp);
    unlink(path);
    assert_string_equal(out, "prog: --cap '9': too small\n"
                             "prog: usage: one thing\n");
}

static void
test_opts_bad_default_is_reported(void **state)
{
    (void)state;
    uint64_t v = 0;
    et_opt_t opts[] = {{.name = "n",
                        .type = ET_OPT_U64,
                        .dest = &v,
                        .umin = 1,
                        .umax = 5,
                        .def = "9",
                        .help = "n"}};
    et_opts_t spec = {.prog = "prog", .usage = "", .opts = opts, .n_opts = 1};
    char *argv[] = {"prog"};
    char err[256];
    assert_int_equal(s_parse_capture(&spec, 1, argv, 2, err, sizeof err),
                     ET_OPTS_USAGE);
    assert_non_null(strstr(err, "bad built-in default"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opts_defaults_apply_before_argv),
        cmocka_unit_test(test_opts_every_form_and_type),
        cmocka_unit_test(test_opts_last_use_wins),
        cmocka_unit_test(test_opts_bad_values_name_the_flag),
        cmocka_unit_test(test_opts_usage_errors),
        cmocka_unit_test(test_opts_help_lists_options_defaults_and_required),
        cmocka_unit_test(test_opts_help_needs_no_required_option),
        cmocka_unit_test(test_opts_version),
        cmocka_unit_test(test_opts_check_validates_without_running),
        cmocka_unit_test(test_opts_error_helper_adds_dashes),
        cmocka_unit_test(test_opts_bad_default_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
