/* Feature derivation for the fraud model. Only what one transaction says is
 * used (no per-card history): that keeps preprocess stateless, so any
 * instance gives the same answer, and makes training match serving. */
#include "workers/fraud/features.h"

#include <errno.h>
#include <math.h>

static const char *const s_names[ET_FEATURES_COUNT] = {
    "log_amount",   "hour_sin",    "hour_cos",   "night",        "log_distance",
    "velocity_24h", "online",      "foreign",    "mcc_everyday", "mcc_retail",
    "mcc_travel",   "mcc_digital", "mcc_resale", "mcc_cash"};

#define S_GROUP_FIRST 8 /* index of mcc_everyday */
_Static_assert(S_GROUP_FIRST + ET_FEATURES_GROUPS == ET_FEATURES_COUNT,
               "the one-hot groups are the last features");

static const char *const s_group_names[ET_FEATURES_GROUPS] = {
    "everyday", "retail", "travel", "digital", "resale", "cash"};

/* Ranges of merchant category codes (ISO 18245) by risk group. Codes not
 * listed are ordinary retail. */
static const struct {
    uint16_t lo, hi;
    uint8_t group;
} s_mcc_ranges[] = {
    {3000, 3299, ET_FEATURES_GROUP_TRAVEL}, /* airlines by name */
    {3351, 3441, ET_FEATURES_GROUP_TRAVEL}, /* car rental by name */
    {3501, 3999, ET_FEATURES_GROUP_TRAVEL}, /* hotels by name */
    {4111, 4131, ET_FEATURES_GROUP_EVERYDAY},
    {4411, 4411, ET_FEATURES_GROUP_TRAVEL},
    {4511, 4511, ET_FEATURES_GROUP_TRAVEL},
    {4722, 4722, ET_FEATURES_GROUP_TRAVEL},
    {4784, 4784, ET_FEATURES_GROUP_EVERYDAY},
    {4814, 4814, ET_FEATURES_GROUP_EVERYDAY},
    {4829, 4829, ET_FEATURES_GROUP_CASH}, /* money transfer */
    {4899, 4899, ET_FEATURES_GROUP_DIGITAL},
    {4900, 4900, ET_FEATURES_GROUP_EVERYDAY},
    {5045, 5045, ET_FEATURES_GROUP_RESALE},
    {5094, 5094, ET_FEATURES_GROUP_RESALE},
    {5411, 5499, ET_FEATURES_GROUP_EVERYDAY}, /* food stores */
    {5541, 5542, ET_FEATURES_GROUP_EVERYDAY}, /* fuel */
    {5732, 5732, ET_FEATURES_GROUP_RESALE},
    {5734, 5734, ET_FEATURES_GROUP_DIGITAL},
    {5812, 5814, ET_FEATURES_GROUP_EVERYDAY}, /* eating places */
    {5815, 5818, ET_FEATURES_GROUP_DIGITAL},
    {5912, 5912, ET_FEATURES_GROUP_EVERYDAY},
    {5944, 5944, ET_FEATURES_GROUP_RESALE},
    {5947, 5947, ET_FEATURES_GROUP_RESALE}, /* gift cards */
    {6010, 6012, ET_FEATURES_GROUP_CASH},
    {6051, 6051, ET_FEATURES_GROUP_CASH}, /* quasi-cash, crypto */
    {6540, 6540, ET_FEATURES_GROUP_CASH},
    {7011, 7011, ET_FEATURES_GROUP_TRAVEL},
    {7512, 7512, ET_FEATURES_GROUP_TRAVEL},
    {7800, 7802, ET_FEATURES_GROUP_CASH},
    {7995, 7995, ET_FEATURES_GROUP_CASH},     /* gambling */
    {8011, 8099, ET_FEATURES_GROUP_EVERYDAY}, /* health care */
};

et_features_group_t
et_features_mcc_group(uint32_t mcc)
{
    for (size_t i = 0; i < sizeof s_mcc_ranges / sizeof s_mcc_ranges[0]; i++)
        if (mcc >= s_mcc_ranges[i].lo && mcc <= s_mcc_ranges[i].hi)
            return (et_features_group_t)s_mcc_ranges[i].group;
    return ET_FEATURES_GROUP_RETAIL;
}

const char *
et_features_group_name(int group)
{
    if (group < 0 || group >= ET_FEATURES_GROUPS)
        return NULL;
    return s_group_names[group];
}

int
et_features_check_tx(const et_tx_t *tx, const char **why)
{
    const char *problem = NULL;
    if (!isfinite(tx->amount) || tx->amount <= 0 ||
        tx->amount >= ET_FEATURES_AMOUNT_MAX)
        problem = "amount must be > 0 and < 1e7";
    else if (tx->mcc > ET_FEATURES_MCC_MAX)
        problem = "mcc must be 0..9999";
    else if (tx->hour > 23)
        problem = "hour must be 0..23";
    else if (!isfinite(tx->ts) || tx->ts < 0)
        problem = "ts must be finite and >= 0";
    else if (!isfinite(tx->distance_km) || tx->distance_km < 0 ||
             tx->distance_km > ET_FEATURES_DISTANCE_MAX_KM)
        problem = "distance_km must be 0..20100";
    else if (tx->velocity_24h > ET_FEATURES_VELOCITY_MAX)
        problem = "velocity_24h must be <= 100000";
    else if ((tx->online != 0 && tx->online != 1) ||
             (tx->foreign != 0 && tx->foreign != 1))
        problem = "online and foreign must be booleans";
    if (why)
        *why = problem;
    return problem ? -1 : 0;
}

int
et_features_from_tx(const et_tx_t *tx, float out[ET_FEATURES_COUNT])
{
    if (et_features_check_tx(tx, NULL) != 0) {
        errno = EINVAL;
        return -1;
    }
    /* Hours on a circle: 23 h and 0 h are neighbours. */
    double angle = 2.0 * M_PI * (double)tx->hour / 24.0;
    out[0] = (float)log1p(tx->amount);
    out[1] = (float)sin(angle);
    out[2] = (float)cos(angle);
    out[3] = tx->hour < 6 ? 1.0f : 0.0f;
    out[4] = (float)log1p(tx->distance_km);
    out[5] = (float)tx->velocity_24h;
    out[6] = (float)tx->online;
    out[7] = (float)tx->foreign;
    for (int g = 0; g < ET_FEATURES_GROUPS; g++)
        out[S_GROUP_FIRST + g] = 0.0f;
    out[S_GROUP_FIRST + et_features_mcc_group(tx->mcc)] = 1.0f;
    return 0;
}

const char *
et_features_name(size_t index)
{
    return index < ET_FEATURES_COUNT ? s_names[index] : NULL;
}
