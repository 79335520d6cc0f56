/* noop: returns its input unchanged. The baseline for the platform's own
 * overhead: every microsecond a noop event spends is the pipeline's. */
#include "workers/function.h"

#include "common/codec.h"

static int
s_check(const et_function_config_t *cfg, const char **flag, const char **value,
        char *why, size_t why_size)
{
    return et_function_check_options(cfg, NULL, flag, value, why, why_size);
}

static int
s_init(void **state, const et_function_config_t *cfg, char *why,
       size_t why_size)
{
    const char *flag, *value;
    if (s_check(cfg, &flag, &value, why, why_size) != 0)
        return -1;
    /* Stateless; a non-NULL token keeps "initialised" easy to tell. */
    static char s_token;
    *state = &s_token;
    return 0;
}

static int
s_handle(void *state, unsigned slot, const void *input, size_t input_size,
         et_function_output_t *out)
{
    (void)state;
    (void)slot;
    if (input_size > 0 &&
        msgpack_sbuffer_write(out->output, input, input_size) != 0)
        return ET_STATUS_ERROR;
    return ET_STATUS_OK;
}

static void
s_fini(void **state)
{
    *state = NULL;
}

const et_function_def_t et_function_noop = {
    .name = "noop",
    .summary = "returns its input unchanged (platform overhead baseline)",
    .uses_service = 0,
    .brief = 1,
    .check = s_check,
    .init = s_init,
    .handle = s_handle,
    .fini = s_fini,
};
