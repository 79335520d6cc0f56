/* decide: rule-based decisions from a small rules file (option rules=PATH).
 * The first rule whose conditions all hold picks the event's decision;
 * the outcome is that decision's index in the file's 'decisions' line.
 * With shadow_score=FIELD the rules decide a second time with 'score'
 * read from FIELD (a shadow model's score, which fraud writes as
 * shadow_score): that decision is the event's shadow verdict, reported
 * for accuracy and acted on by nobody; without FIELD in the payload there
 * is none.
 * The file format is documented in docs/functions.md; parse errors say
 * "FILE:LINE: problem". Stateless: the rules are read-only after init. */
#include "workers/function.h"

#include "common/codec.h"
#include "workers/payload.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_FILE_MAX (64 * 1024)
#define S_LINE_MAX 256
#define S_WORDS_MAX 24
#define S_WORD_MAX 31 /* decision and field names */
#define S_DECISIONS_MAX 16
#define S_RULES_MAX 256
#define S_CONDS_MAX 4

typedef enum { S_OP_GE, S_OP_GT, S_OP_LE, S_OP_LT, S_OP_EQ, S_OP_NE } s_op_t;

typedef struct {
    char field[S_WORD_MAX + 1];
    s_op_t op;
    double value;
} s_cond_t;

typedef struct {
    unsigned decision;
    unsigned n_conds; /* 0: 'otherwise' */
    s_cond_t conds[S_CONDS_MAX];
} s_rule_t;

typedef struct {
    char decisions[S_DECISIONS_MAX][S_WORD_MAX + 1];
    unsigned n_decisions;
    s_rule_t rules[S_RULES_MAX];
    unsigned n_rules;
} s_rules_t;

typedef struct {
    s_rules_t rules;
    const char *shadow_score; /* the option's text (valid until fini), or
                                 NULL: no shadow verdict */
} s_state_t;

/* ---- the rules file ----------------------------------------------------- */

/* Where parsing stands, for error messages. */
typedef struct {
    const char *path;
    unsigned line;
    char *why;
    size_t why_size;
} s_parse_t;

static int
s_fail(s_parse_t *p, const char *fmt, const char *arg)
{
    char problem[160];
    snprintf(problem, sizeof problem, fmt, arg ? arg : "");
    if (p->line > 0)
        snprintf(p->why, p->why_size, "%s:%u: %s", p->path, p->line, problem);
    else
        snprintf(p->why, p->why_size, "%s: %s", p->path, problem);
    return -1;
}

static int
s_is_name(const char *word, int allow_dash)
{
    size_t len = strlen(word);
    if (len == 0 || len > S_WORD_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = word[i];
        int ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
            (i > 0 && ((c >= '0' && c <= '9') || (allow_dash && c == '-')));
        if (!ok)
            return 0;
    }
    return 1;
}

static int
s_is_keyword(const char *word)
{
    return strcmp(word, "decisions") == 0 || strcmp(word, "if") == 0 ||
           strcmp(word, "and") == 0 || strcmp(word, "otherwise") == 0;
}

/* A decimal number: strtod alone would also take "inf", "nan" and hex. */
static int
s_parse_number(const char *word, double *out)
{
    if (word[0] == '\0' || strspn(word, "0123456789+-.eE") != strlen(word))
        return -1;
    char *end;
    errno = 0;
    *out = strtod(word, &end);
    return (*end != '\0' || errno != 0 || !isfinite(*out)) ? -1 : 0;
}

static int
s_parse_op(const char *word, s_op_t *op)
{
    static const char *const s_ops[] = {">=", ">", "<=", "<", "==", "!="};
    for (int i = 0; i < 6; i++)
        if (strcmp(word, s_ops[i]) == 0) {
            *op = (s_op_t)i;
            return 0;
        }
    return -1;
}

static int
s_parse_decisions(s_parse_t *p, s_rules_t *rules, char **words, int n)
{
    if (rules->n_decisions > 0)
        return s_fail(p, "a second 'decisions' line", NULL);
    if (n < 3)
        return s_fail(p, "'decisions' needs at least two names", NULL);
    if (n - 1 > S_DECISIONS_MAX)
        return s_fail(p, "more than 16 decisions", NULL);
    for (int i = 1; i < n; i++) {
        if (!s_is_name(words[i], 1))
            return s_fail(p,
                          "bad decision name '%s' (letters, digits, '_', "
                          "'-'; at most 31)",
                          words[i]);
        if (s_is_keyword(words[i]))
            return s_fail(p, "'%s' is a keyword, not a decision name",
                          words[i]);
        for (unsigned k = 0; k < rules->n_decisions; k++)
            if (strcmp(rules->decisions[k], words[i]) == 0)
                return s_fail(p, "decision '%s' listed twice", words[i]);
        strcpy(rules->decisions[rules->n_decisions++], words[i]);
    }
    return 0;
}

/* NAME if FIELD OP NUMBER [and FIELD OP NUMBER]... | NAME otherwise */
static int
s_parse_rule(s_parse_t *p, s_rules_t *rules, char **words, int n,
             unsigned *otherwise_line)
{
    if (rules->n_decisions == 0)
        return s_fail(p, "expected 'decisions NAME...' before any rule", NULL);
    if (*otherwise_line > 0) {
        char where[32];
        snprintf(where, sizeof where, "%u", *otherwise_line);
        return s_fail(p,
                      "rule after 'otherwise' (line %s); otherwise must "
                      "be the last rule",
                      where);
    }
    if (rules->n_rules >= S_RULES_MAX)
        return s_fail(p, "more than 256 rules", NULL);
    s_rule_t *rule = &rules->rules[rules->n_rules];
    memset(rule, 0, sizeof *rule);
    unsigned d = 0;
    while (d < rules->n_decisions && strcmp(rules->decisions[d], words[0]) != 0)
        d++;
    if (d == rules->n_decisions)
        return s_fail(p, "unknown decision '%s' (not in the decisions line)",
                      words[0]);
    rule->decision = d;
    if (n < 2)
        return s_fail(p, "expected 'if' or 'otherwise' after '%s'", words[0]);
    if (strcmp(words[1], "otherwise") == 0) {
        if (n > 2)
            return s_fail(p, "unexpected '%s' after 'otherwise'", words[2]);
        *otherwise_line = p->line;
        rules->n_rules++;
        return 0;
    }
    if (strcmp(words[1], "if") != 0)
        return s_fail(p, "expected 'if' or 'otherwise', not '%s'", words[1]);
    int i = 2;
    for (;;) {
        if (n - i < 3)
            return s_fail(p, "expected a condition FIELD OP NUMBER", NULL);
        if (rule->n_conds >= S_CONDS_MAX)
            return s_fail(p, "more than 4 conditions in one rule", NULL);
        s_cond_t *cond = &rule->conds[rule->n_conds];
        if (!s_is_name(words[i], 0) || s_is_keyword(words[i]))
            return s_fail(p,
                          "bad field name '%s' (letters, digits, '_'; at "
                          "most 31)",
                          words[i]);
        strcpy(cond->field, words[i]);
        if (s_parse_op(words[i + 1], &cond->op) != 0)
            return s_fail(p,
                          "unknown operator '%s' (expected >=, >, <=, <, "
                          "== or !=)",
                          words[i + 1]);
        if (s_parse_number(words[i + 2], &cond->value) != 0)
            return s_fail(p, "'%s' is not a finite decimal number",
                          words[i + 2]);
        rule->n_conds++;
        i += 3;
        if (i == n)
            break;
        if (strcmp(words[i], "and") != 0)
            return s_fail(p, "expected 'and' or the end of the line, not '%s'",
                          words[i]);
        i++;
    }
    rules->n_rules++;
    return 0;
}

/* Split 'line' (NUL-terminated, modified) into words. */
static int
s_split(s_parse_t *p, char *line, char **words, int *n)
{
    *n = 0;
    char *save = NULL;
    for (char *w = strtok_r(line, " \t\r", &save); w;
         w = strtok_r(NULL, " \t\r", &save)) {
        if (*n >= S_WORDS_MAX)
            return s_fail(p, "more than 24 words on one line", NULL);
        words[(*n)++] = w;
    }
    return 0;
}

static int
s_parse_text(s_parse_t *p, char *text, size_t size, s_rules_t *rules)
{
    unsigned otherwise_line = 0;
    size_t pos = 0;
    while (pos < size) {
        p->line++;
        char *line = text + pos;
        char *nl = memchr(line, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - line) : size - pos;
        pos += len + (nl ? 1 : 0);
        if (memchr(line, '\0', len))
            return s_fail(p, "NUL byte in the line", NULL);
        if (len > S_LINE_MAX)
            return s_fail(p, "line longer than 256 bytes", NULL);
        line[len] = '\0'; /* the '\n', or the spare byte after the text */
        /* Comments may hold anything but NUL; the rules themselves are
         * ASCII. */
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        for (size_t i = 0; line[i] != '\0'; i++) {
            unsigned char c = (unsigned char)line[i];
            if ((c < 0x20 && c != '\t' && c != '\r') || c >= 0x7f)
                return s_fail(p, "control or non-ASCII byte in the line", NULL);
        }
        char *words[S_WORDS_MAX];
        int n;
        if (s_split(p, line, words, &n) != 0)
            return -1;
        if (n == 0)
            continue;
        int rc = strcmp(words[0], "decisions") == 0
                     ? s_parse_decisions(p, rules, words, n)
                     : s_parse_rule(p, rules, words, n, &otherwise_line);
        if (rc != 0)
            return -1;
    }
    p->line = 0;
    if (rules->n_decisions == 0)
        return s_fail(p, "no 'decisions' line", NULL);
    if (otherwise_line == 0)
        return s_fail(p,
                      "no 'otherwise' rule (the last rule must be "
                      "'NAME otherwise')",
                      NULL);
    return 0;
}

/* Read and parse 'path'. 0, or -1 with "PATH[:LINE]: problem" in 'why'. */
static int
s_rules_load(const char *path, s_rules_t *rules, char *why, size_t why_size)
{
    s_parse_t p = {.path = path, .line = 0, .why = why, .why_size = why_size};
    memset(rules, 0, sizeof *rules);
    char *text = NULL;
    int rc = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        s_fail(&p, "cannot open: %s", strerror(errno));
        goto done;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        s_fail(&p, "cannot stat: %s", strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        s_fail(&p, "not a regular file", NULL);
        goto done;
    }
    /* One spare byte to see a file that grew past the limit, and room to
     * terminate the last line. */
    text = malloc(S_FILE_MAX + 2);
    if (!text) {
        s_fail(&p, "out of memory", NULL);
        goto done;
    }
    size_t size = 0;
    while (size <= S_FILE_MAX) {
        ssize_t got = read(fd, text + size, S_FILE_MAX + 1 - size);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            s_fail(&p, "cannot read: %s", strerror(errno));
            goto done;
        }
        if (got == 0)
            break;
        size += (size_t)got;
    }
    if (size > S_FILE_MAX) {
        s_fail(&p, "larger than 65536 bytes", NULL);
        goto done;
    }
    rc = s_parse_text(&p, text, size, rules);
done:
    free(text);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- function interface ------------------------------------------------- */

static int
s_check(const et_function_config_t *cfg, const char **flag, const char **value,
        char *why, size_t why_size)
{
    static const char *const s_known[] = {"rules", "shadow_score", NULL};
    if (et_function_check_options(cfg, s_known, flag, value, why, why_size) !=
        0)
        return -1;
    const char *shadow = et_function_option(cfg, "shadow_score");
    if (shadow && !s_is_name(shadow, 0))
        return et_function_option_error(
            cfg, "shadow_score", flag, value, why, why_size,
            "shadow_score: expected a field name (letters, digits, _; at "
            "most %d)",
            S_WORD_MAX);
    const char *path = et_function_option(cfg, "rules");
    if (!path || path[0] == '\0')
        return et_function_option_error(cfg, "rules", flag, value, why,
                                        why_size, "rules=PATH is required");
    s_rules_t *rules = malloc(sizeof *rules);
    if (!rules)
        return et_function_option_error(cfg, "rules", flag, value, why,
                                        why_size, "out of memory");
    int rc = s_rules_load(path, rules, why, why_size);
    free(rules);
    if (rc != 0) {
        *flag = "--option";
        *value = et_function_option_entry(cfg, "rules");
        return -1;
    }
    return 0;
}

static int
s_init(void **state, const et_function_config_t *cfg, char *why,
       size_t why_size)
{
    const char *flag, *value;
    if (s_check(cfg, &flag, &value, why, why_size) != 0)
        return -1;
    s_state_t *self = malloc(sizeof *self);
    if (!self) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    if (s_rules_load(et_function_option(cfg, "rules"), &self->rules, why,
                     why_size) != 0) {
        free(self);
        return -1;
    }
    self->shadow_score = et_function_option(cfg, "shadow_score");
    *state = self;
    return 0;
}

static void
s_fini(void **state)
{
    if (!state || !*state)
        return;
    free(*state);
    *state = NULL;
}

/* The first entry called 'name' as a finite number; -1 when it is
 * missing or not one (the rule then does not match). */
static int
s_field(const msgpack_object *map, const char *name, double *out)
{
    const msgpack_object *value = et_payload_find(map, name);
    return value ? et_payload_number(value, INFINITY, out) : -1;
}

/* 'score_field': where the rules' "score" is read from ("score" itself,
 * or the shadow's field). */
static int
s_cond_holds(const s_cond_t *c, const msgpack_object *map,
             const char *score_field)
{
    double x;
    const char *field = strcmp(c->field, "score") == 0 ? score_field : c->field;
    if (s_field(map, field, &x) != 0)
        return 0;
    switch (c->op) {
    case S_OP_GE:
        return x >= c->value;
    case S_OP_GT:
        return x > c->value;
    case S_OP_LE:
        return x <= c->value;
    case S_OP_LT:
        return x < c->value;
    case S_OP_EQ:
        return x == c->value;
    case S_OP_NE:
        return x != c->value;
    }
    return 0;
}

static unsigned
s_decide(const s_rules_t *rules, const msgpack_object *map,
         const char *score_field)
{
    for (unsigned r = 0; r < rules->n_rules; r++) {
        const s_rule_t *rule = &rules->rules[r];
        unsigned c = 0;
        while (c < rule->n_conds &&
               s_cond_holds(&rule->conds[c], map, score_field))
            c++;
        if (c == rule->n_conds)
            return rule->decision;
    }
    /* Unreachable: the parser insists on a final 'otherwise'. */
    return rules->rules[rules->n_rules - 1].decision;
}

/* The scalar entries of the input, except a stale 'decision', plus the
 * new decision. */
static int
s_write_output(msgpack_sbuffer *sbuf, const msgpack_object *map,
               const char *decision)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sbuf, msgpack_sbuffer_write);
    if (et_payload_pack_except(&pk, map, "decision", ET_PAYLOAD_SCALARS, 1) !=
            0 ||
        msgpack_pack_str_with_body(&pk, "decision", 8) != 0 ||
        msgpack_pack_str_with_body(&pk, decision, strlen(decision)) != 0)
        return -1;
    return 0;
}

static int
s_handle(void *state, unsigned slot, const void *input, size_t input_size,
         et_function_output_t *out)
{
    (void)slot;
    const s_state_t *self = state;
    if (!self)
        return ET_STATUS_ERROR;
    const s_rules_t *rules = &self->rules;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init(&unpacked);
    int status = ET_STATUS_ERROR;
    if (et_payload_unpack_map(input, input_size, &unpacked) != 0 ||
        !et_payload_keys_are_strings(&unpacked.data))
        goto done;
    const msgpack_object *map = &unpacked.data;
    unsigned decision = s_decide(rules, map, "score");
    if (s_write_output(out->output, map, rules->decisions[decision]) != 0)
        goto done;
    double score;
    out->outcome = (int32_t)decision;
    out->score = s_field(map, "score", &score) == 0 ? score : 0;
    if (self->shadow_score && s_field(map, self->shadow_score, &score) == 0)
        out->shadow_outcome = (int32_t)s_decide(rules, map, self->shadow_score);
    status = ET_STATUS_OK;
done:
    msgpack_unpacked_destroy(&unpacked);
    return status;
}

const et_function_def_t et_function_decide = {
    .name = "decide",
    .summary = "first-match rules (rules=FILE) pick each event's decision",
    .uses_service = 0,
    .brief = 1,
    .check = s_check,
    .init = s_init,
    .handle = s_handle,
    .fini = s_fini,
};
