/* The function registry and helpers that function files share. Adding a
 * function: one file in workers/functions/, one line in s_functions, one
 * extern in function.h. */
#include "workers/function.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const et_function_def_t *const s_functions[] = {
    &et_function_noop,   &et_function_synthetic, &et_function_anomaly,
    &et_function_decide, &et_function_sink,      &et_function_preprocess,
    &et_function_fraud,  &et_function_faulty,
};

#define S_FUNCTIONS_COUNT (sizeof s_functions / sizeof s_functions[0])

const et_function_def_t *
et_function_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < S_FUNCTIONS_COUNT; i++)
        if (strcmp(s_functions[i]->name, name) == 0)
            return s_functions[i];
    return NULL;
}

const et_function_def_t *const *
et_function_list(size_t *count)
{
    *count = S_FUNCTIONS_COUNT;
    return s_functions;
}

void
et_function_time(et_function_output_t *out, int kind, int64_t ns)
{
    if (!out || kind < 0 || kind >= ET_TIMING_KINDS || ns < 0)
        return;
    /* Several calls (a store read and a retry, say) add up. */
    if (!(out->timed & (1u << kind)))
        out->timing_ns[kind] = 0;
    out->timing_ns[kind] += ns;
    out->timed |= (uint8_t)(1u << kind);
}

unsigned
et_function_clean_detail(et_detail_t *d, int64_t service_ns, int keep_shadow)
{
    unsigned dropped = 0;
    if (d->has_shadow && d->shadow_outcome < 0 && keep_shadow)
        dropped++;
    if (!keep_shadow || !d->has_shadow || d->shadow_outcome < 0) {
        d->has_shadow = 0;
        d->shadow_outcome = 0;
    }
    uint8_t known = (uint8_t)((1u << ET_TIMING_KINDS) - 1u);
    if (d->timed & ~known) {
        for (unsigned bit = ET_TIMING_KINDS; bit < 8; bit++)
            dropped += (d->timed >> bit) & 1u;
        d->timed &= known;
    }
    for (int k = 0; k < ET_TIMING_KINDS; k++) {
        if ((d->timed & (1u << k)) &&
            (d->timing_ns[k] < 0 || d->timing_ns[k] > service_ns)) {
            d->timed &= (uint8_t) ~(1u << k);
            dropped++;
        }
        if (!(d->timed & (1u << k)))
            d->timing_ns[k] = 0;
    }
    return dropped;
}

/* Length of the KEY part of "KEY=VALUE", or 0 when there is no '='. */
static size_t
s_key_len(const char *option)
{
    const char *eq = strchr(option, '=');
    return eq ? (size_t)(eq - option) : 0;
}

const char *
et_function_option(const et_function_config_t *cfg, const char *key)
{
    const char *value = NULL;
    size_t len = strlen(key);
    for (unsigned i = 0; i < cfg->n_options; i++) {
        const char *option = cfg->options[i];
        if (option && s_key_len(option) == len &&
            strncmp(option, key, len) == 0)
            value = option + len + 1;
    }
    return value;
}

const char *
et_function_option_entry(const et_function_config_t *cfg, const char *key)
{
    const char *value = et_function_option(cfg, key);
    /* et_function_option points just past "KEY=". */
    return value ? value - strlen(key) - 1 : NULL;
}

int
et_function_parse_bool(const char *text, int *out)
{
    static const char *const s_true[] = {"on", "true", "yes", "1"};
    static const char *const s_false[] = {"off", "false", "no", "0"};
    for (size_t i = 0; i < sizeof s_true / sizeof s_true[0]; i++) {
        if (strcmp(text, s_true[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(text, s_false[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

int
et_function_option_error(const et_function_config_t *cfg, const char *key,
                         const char **flag, const char **value, char *why,
                         size_t why_size, const char *fmt, ...)
{
    *flag = "--option";
    *value = et_function_option_entry(cfg, key);
    va_list args;
    va_start(args, fmt);
    vsnprintf(why, why_size, fmt, args);
    va_end(args);
    return -1;
}

int
et_function_check_options(const et_function_config_t *cfg,
                          const char *const *known, const char **flag,
                          const char **value, char *why, size_t why_size)
{
    for (unsigned i = 0; i < cfg->n_options; i++) {
        const char *option = cfg->options[i];
        size_t len = option ? s_key_len(option) : 0;
        int found = 0;
        for (size_t k = 0; len > 0 && known && known[k]; k++)
            if (strlen(known[k]) == len && strncmp(option, known[k], len) == 0)
                found = 1;
        if (!found) {
            *flag = "--option";
            *value = option ? option : "";
            snprintf(why, why_size, "this function has no such option");
            return -1;
        }
    }
    return 0;
}
