/* Labelled card transactions (see txgen.h and docs/data.md, "Card
 * transactions", which this header and the tables below must match).
 *
 * A fixed population of 4096 cards, each with its own habits: daily
 * activity (median 2 transactions a day), usual amount (median 28, spread
 * per card), active hours (12% are night owls), online share, travel
 * propensity, local radius and merchant-category mix. The stream clock
 * advances by exponential gaps so that every card transacts at its own
 * daily rate; velocity_24h is the card's real count over the previous 24 h
 * (a ring of its last 32 timestamps, pre-filled with a simulated previous
 * day so the stream starts in steady state).
 *
 * Every valid event is fraud with probability fraud_rate (the base rate,
 * exact in expectation). Fraud events follow five patterns, with these
 * shares of fraud events:
 *   30% card testing      bursts of 2-6 tiny charges (median 2.0), 95%
 *                         online, on one card: digital goods 55%, charity
 *                         35%, retail 10%; any hour; device far away
 *                         (median 800 km; 25% near home), 40% foreign. 15%
 *                         use the card's ordinary digital amounts.
 *   22% account takeover  one online purchase of 4x the card's usual amount
 *                         (electronics, gift cards, transfers, digital), 50%
 *                         at night, new device (median 300 km; 20% near
 *                         home), 30% foreign.
 *   22% skimmed card      one in-person purchase or ATM withdrawal far from
 *                         home (median 1200 km; 15% local), 55% foreign,
 *                         daytime, 2.5x the usual amount or round cash.
 *   18% night burst       bursts of 2-4 charges of median 150 at 22-04 h,
 *                         gambling/quasi-cash/resale, 50% online, median 40
 *                         km away, 15% foreign.
 *    8% friendly fraud    a transaction drawn exactly like the card's own
 *                         legitimate ones but labelled fraud (disputed by
 *                         the holder): label noise no model can learn.
 * Legitimate traffic overlaps every pattern on purpose: travellers pay far
 * away and abroad, night owls shop at night, digital purchases are small,
 * people buy electronics. Expect a held-out AUC near 0.95, not 1.
 *
 * A share malformed_rate of all events is malformed (label -1), each kind
 * equally likely: a key missing, a value of the wrong type (string or nil),
 * a negative amount, an hour in 24..99. Malformed events do not touch the
 * cards' history. */
#include "workers/fraud/txgen.h"

#include "common/rng.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_CARDS 4096
#define S_RECENT 32 /* velocity_24h saturates here */
#define S_DAY_S 86400.0
#define S_DEFAULT_FRAUD_RATE 0.02
#define S_RATE_MAX 0.5
#define S_AMOUNT_MAX 1e6 /* generated amounts stay well below the 1e7 limit */
#define S_DISTANCE_MAX_KM 20000.0

const char *const et_txgen_field_names[ET_TXGEN_FIELDS] = {
    "tx", "card",        "amount",       "mcc",    "hour",
    "ts", "distance_km", "velocity_24h", "online", "foreign"};

/* The generator's merchant groups; same meaning as workers/fraud/features.h's
 * risk groups, which classify the codes below the same way. */
enum { S_EVERYDAY, S_RETAIL, S_TRAVEL, S_DIGITAL, S_RESALE, S_CASH, S_GROUPS };

#define S_CODES_MAX 8
static const struct {
    uint32_t codes[S_CODES_MAX];
    unsigned count;
    double weight;        /* share of an average card's purchases */
    double amount_factor; /* times the card's usual amount */
    double online_p;      /* < 0: the card's own online share */
} s_groups[S_GROUPS] = {
    [S_EVERYDAY] =
        {{5411, 5812, 5814, 5541, 5912, 4111, 4121, 4900}, 8, 0.58, 0.8, 0.04},
    [S_RETAIL] = {{5311, 5651, 5942, 5999, 5200, 8398}, 6, 0.20, 1.5, -1},
    [S_TRAVEL] = {{4511, 7011, 7512, 4722}, 4, 0.03, 6.0, 0.6},
    [S_DIGITAL] = {{5815, 5816, 5817, 5818, 4899, 5734}, 6, 0.10, 0.35, 1.0},
    [S_RESALE] = {{5732, 5944, 5045, 5947}, 4, 0.05, 4.0, -1},
    [S_CASH] = {{6011, 6051, 4829, 7995}, 4, 0.04, 3.0, 0.35},
};

/* Shares of fraud events by pattern, and mean burst lengths. */
static const double s_pattern_share[ET_TXGEN_PATTERNS] = {0,    0.30, 0.22,
                                                          0.22, 0.18, 0.08};
static const unsigned s_burst_min[ET_TXGEN_PATTERNS] = {1, 2, 1, 1, 2, 1};
static const unsigned s_burst_max[ET_TXGEN_PATTERNS] = {1, 6, 1, 1, 4, 1};

typedef struct {
    double activity; /* transactions a day */
    double amount_median;
    double amount_sigma;
    double hour_center;
    double online_p;
    double travel_p;
    double home_km; /* mean distance of local purchases */
    double group_cum[S_GROUPS];
    double recent[S_RECENT]; /* ring of the card's last timestamps */
    unsigned recent_next;
} s_card_t;

struct et_txgen_t {
    et_rng_t rng;
    double fraud_rate;
    double malformed_rate;
    double gap_mean_s;
    double ts;
    uint64_t next_id;
    double card_cum[S_CARDS]; /* cumulative activity, to pick cards */
    double start_cum[ET_TXGEN_PATTERNS];
    /* The burst in progress: fraud events continue it until it ends. */
    unsigned burst_card;
    int burst_pattern;
    unsigned burst_left;
    s_card_t cards[S_CARDS];
};

/* ---- helpers ------------------------------------------------------------- */

static double
s_lognormal(et_rng_t *rng, double median, double sigma)
{
    return median * exp(sigma * et_rng_normal(rng));
}

static int
s_chance(et_rng_t *rng, double p)
{
    return et_rng_uniform(rng) < p;
}

/* Index of the first entry of the cumulative 'cum' (last one = total)
 * above a uniform draw. */
static unsigned
s_pick_cum(et_rng_t *rng, const double *cum, unsigned count)
{
    double u = et_rng_uniform(rng) * cum[count - 1];
    unsigned lo = 0, hi = count - 1;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (cum[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

static uint32_t
s_pick_mcc(et_rng_t *rng, int group)
{
    unsigned i = (unsigned)(et_rng_uniform(rng) * s_groups[group].count);
    return s_groups[group].codes[i];
}

static uint32_t
s_hour(double h)
{
    long whole = (long)floor(h);
    return (uint32_t)(((whole % 24) + 24) % 24);
}

static double
s_cents(double amount)
{
    amount = round(amount * 100.0) / 100.0;
    if (amount < 0.01)
        amount = 0.01;
    return amount > S_AMOUNT_MAX ? S_AMOUNT_MAX : amount;
}

static double
s_km(double km)
{
    return km > S_DISTANCE_MAX_KM ? S_DISTANCE_MAX_KM : km;
}

static uint32_t
s_velocity(const s_card_t *card, double ts)
{
    uint32_t count = 0;
    for (unsigned i = 0; i < S_RECENT; i++)
        if (card->recent[i] > ts - S_DAY_S && card->recent[i] <= ts)
            count++;
    return count;
}

static void
s_remember(s_card_t *card, double ts)
{
    card->recent[card->recent_next] = ts;
    card->recent_next = (card->recent_next + 1) % S_RECENT;
}

/* ---- cards --------------------------------------------------------------- */

static void
s_card_init(s_card_t *card, et_rng_t *rng)
{
    card->activity = fmin(16.0, s_lognormal(rng, 2.0, 0.6));
    card->amount_median = s_lognormal(rng, 28.0, 0.45);
    card->amount_sigma = 0.55 + 0.3 * et_rng_uniform(rng);
    card->hour_center = s_chance(rng, 0.12) ? 20.0 + 5.0 * et_rng_uniform(rng)
                                            : 13.0 + 2.0 * et_rng_normal(rng);
    card->online_p = 0.05 + 0.4 * et_rng_uniform(rng);
    card->travel_p =
        s_chance(rng, 0.25) ? 0.03 + 0.09 * et_rng_uniform(rng) : 0.004;
    card->home_km = 2.0 + 18.0 * et_rng_uniform(rng);
    double sum = 0;
    for (int g = 0; g < S_GROUPS; g++) {
        sum += s_groups[g].weight * exp(0.5 * et_rng_normal(rng));
        card->group_cum[g] = sum;
    }
    /* The previous day, as a Poisson process at the card's rate. */
    for (unsigned i = 0; i < S_RECENT; i++)
        card->recent[i] = -INFINITY;
    card->recent_next = 0;
    double t = -S_DAY_S;
    for (;;) {
        t += et_rng_exponential(rng, S_DAY_S / card->activity);
        if (t >= 0)
            break;
        s_remember(card, t);
    }
}

static unsigned
s_pick_card(et_txgen_t *self)
{
    return s_pick_cum(&self->rng, self->card_cum, S_CARDS);
}

/* A transaction drawn from the card's own habits. */
static void
s_legit(et_txgen_t *self, const s_card_t *card, et_tx_t *tx)
{
    et_rng_t *rng = &self->rng;
    int traveling = s_chance(rng, card->travel_p);
    int group = (int)s_pick_cum(rng, card->group_cum, S_GROUPS);
    if (traveling && s_chance(rng, 0.35))
        group = S_TRAVEL;
    double online_p = s_groups[group].online_p;
    tx->mcc = s_pick_mcc(rng, group);
    tx->online = s_chance(rng, online_p < 0 ? card->online_p : online_p);
    tx->amount = s_cents(
        s_lognormal(rng, card->amount_median * s_groups[group].amount_factor,
                    card->amount_sigma));
    tx->hour = s_hour(card->hour_center + 3.0 * et_rng_normal(rng));
    if (traveling) {
        tx->distance_km = s_km(s_lognormal(rng, 500.0, 1.0));
        tx->foreign = s_chance(rng, 0.5);
    } else {
        /* Online, the distance is the device's: usually at home. */
        double mean = tx->online ? card->home_km * 0.5 : card->home_km;
        tx->distance_km = s_km(et_rng_exponential(rng, mean));
        tx->foreign = tx->online && s_chance(rng, 0.06);
    }
}

/* ---- fraud patterns ------------------------------------------------------ */

static void
s_card_testing(et_txgen_t *self, const s_card_t *card, et_tx_t *tx)
{
    et_rng_t *rng = &self->rng;
    double u = et_rng_uniform(rng);
    int group = u < 0.7 ? S_DIGITAL : S_RETAIL;
    tx->mcc = u < 0.55 || u >= 0.9 ? s_pick_mcc(rng, group) : 8398;
    tx->online = s_chance(rng, 0.95);
    tx->amount =
        s_chance(rng, 0.15)
            ? s_lognormal(rng, card->amount_median * 0.35, card->amount_sigma)
            : s_lognormal(rng, 2.0, 0.7);
    tx->amount = s_cents(tx->amount);
    tx->hour = (uint32_t)(et_rng_uniform(rng) * 24);
    tx->distance_km = s_chance(rng, 0.25)
                          ? et_rng_exponential(rng, card->home_km)
                          : s_lognormal(rng, 800.0, 1.2);
    tx->distance_km = s_km(tx->distance_km);
    tx->foreign = s_chance(rng, 0.4);
}

static void
s_account_takeover(et_txgen_t *self, const s_card_t *card, et_tx_t *tx)
{
    et_rng_t *rng = &self->rng;
    double u = et_rng_uniform(rng);
    int group = u < 0.5 ? S_RESALE : u < 0.7 ? S_DIGITAL : S_CASH;
    tx->mcc = s_pick_mcc(rng, group);
    tx->online = 1;
    tx->amount = s_cents(card->amount_median * s_lognormal(rng, 4.0, 0.6) *
                         exp(card->amount_sigma * et_rng_normal(rng)));
    tx->hour = s_chance(rng, 0.5)
                   ? (uint32_t)(et_rng_uniform(rng) * 6)
                   : s_hour(card->hour_center + 3.0 * et_rng_normal(rng));
    tx->distance_km = s_chance(rng, 0.2)
                          ? et_rng_exponential(rng, card->home_km)
                          : s_lognormal(rng, 300.0, 1.3);
    tx->distance_km = s_km(tx->distance_km);
    tx->foreign = s_chance(rng, 0.3);
}

static void
s_skimmed(et_txgen_t *self, const s_card_t *card, et_tx_t *tx)
{
    et_rng_t *rng = &self->rng;
    double u = et_rng_uniform(rng);
    tx->online = 0;
    if (u < 0.35) {
        tx->mcc = 6011; /* ATM: round sums */
        tx->amount = 20.0 * (5 + (int)(et_rng_uniform(rng) * 21));
    } else {
        tx->mcc = s_pick_mcc(rng, u < 0.7 ? S_RESALE : S_EVERYDAY);
        tx->amount = s_cents(card->amount_median * s_lognormal(rng, 2.5, 0.6));
    }
    tx->hour = s_hour(15.0 + 4.0 * et_rng_normal(rng));
    tx->distance_km = s_chance(rng, 0.15) ? 5.0 + 45.0 * et_rng_uniform(rng)
                                          : s_lognormal(rng, 1200.0, 0.9);
    tx->distance_km = s_km(tx->distance_km);
    tx->foreign = s_chance(rng, 0.55);
}

static void
s_night_burst(et_txgen_t *self, et_tx_t *tx)
{
    et_rng_t *rng = &self->rng;
    double u = et_rng_uniform(rng);
    int group = u < 0.4 ? S_CASH : u < 0.8 ? S_RESALE : S_RETAIL;
    tx->mcc = s_pick_mcc(rng, group);
    tx->online = s_chance(rng, 0.5);
    tx->amount = s_cents(s_lognormal(rng, 150.0, 0.8));
    tx->hour = s_chance(rng, 0.2) ? 22 + (uint32_t)(et_rng_uniform(rng) * 2)
                                  : (uint32_t)(et_rng_uniform(rng) * 5);
    tx->distance_km = s_km(s_lognormal(rng, 40.0, 1.0));
    tx->foreign = s_chance(rng, 0.15);
}

static void
s_fraud(et_txgen_t *self, et_tx_t *tx)
{
    et_rng_t *rng = &self->rng;
    if (self->burst_left == 0) {
        self->burst_pattern =
            (int)s_pick_cum(rng, self->start_cum, ET_TXGEN_PATTERNS);
        self->burst_card = s_pick_card(self);
        int p = self->burst_pattern;
        self->burst_left =
            s_burst_min[p] +
            (unsigned)(et_rng_uniform(rng) *
                       (double)(s_burst_max[p] - s_burst_min[p] + 1));
    }
    self->burst_left--;
    s_card_t *card = &self->cards[self->burst_card];
    tx->card = self->burst_card + 1;
    tx->pattern = self->burst_pattern;
    switch (self->burst_pattern) {
    case ET_TXGEN_CARD_TESTING:
        s_card_testing(self, card, tx);
        break;
    case ET_TXGEN_ACCOUNT_TAKEOVER:
        s_account_takeover(self, card, tx);
        break;
    case ET_TXGEN_SKIMMED:
        s_skimmed(self, card, tx);
        break;
    case ET_TXGEN_NIGHT_BURST:
        s_night_burst(self, tx);
        break;
    default:
        tx->pattern = ET_TXGEN_FRIENDLY;
        s_legit(self, card, tx);
        break;
    }
    tx->label = 1;
}

/* ---- public -------------------------------------------------------------- */

et_txgen_t *
et_txgen_new(uint64_t seed, double fraud_rate, double malformed_rate)
{
    if (fraud_rate < 0)
        fraud_rate = S_DEFAULT_FRAUD_RATE;
    if (!(fraud_rate <= S_RATE_MAX) || !(malformed_rate >= 0) ||
        !(malformed_rate <= S_RATE_MAX)) {
        errno = EINVAL;
        return NULL;
    }
    et_txgen_t *self = calloc(1, sizeof *self);
    if (!self) {
        errno = ENOMEM;
        return NULL;
    }
    et_rng_seed(&self->rng, seed);
    self->fraud_rate = fraud_rate;
    self->malformed_rate = malformed_rate;
    double total = 0;
    for (unsigned i = 0; i < S_CARDS; i++) {
        s_card_init(&self->cards[i], &self->rng);
        total += self->cards[i].activity;
        self->card_cum[i] = total;
    }
    self->gap_mean_s = S_DAY_S / total;
    /* Bursts yield several events per start: start a pattern in
     * proportion to share / mean length so event shares are as stated. */
    double cum = 0;
    for (int p = 0; p < ET_TXGEN_PATTERNS; p++) {
        double mean_len = (s_burst_min[p] + s_burst_max[p]) / 2.0;
        cum += s_pattern_share[p] / mean_len;
        self->start_cum[p] = cum;
    }
    return self;
}

void
et_txgen_destroy(et_txgen_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

void
et_txgen_next(et_txgen_t *self, et_tx_t *tx)
{
    et_rng_t *rng = &self->rng;
    memset(tx, 0, sizeof *tx);
    tx->tx = self->next_id++;
    self->ts += et_rng_exponential(rng, self->gap_mean_s);
    tx->ts = self->ts;

    if (s_chance(rng, self->malformed_rate)) {
        unsigned index = s_pick_card(self);
        tx->card = index + 1;
        s_legit(self, &self->cards[index], tx);
        tx->velocity_24h = s_velocity(&self->cards[index], tx->ts);
        tx->label = -1;
        tx->pattern =
            1 + (int)(et_rng_uniform(rng) * (ET_TXGEN_MALFORMED_KINDS - 1));
        if (tx->pattern == ET_TXGEN_MALFORMED_NEGATIVE)
            tx->amount = -tx->amount;
        else if (tx->pattern == ET_TXGEN_MALFORMED_RANGE)
            tx->hour = 24 + (uint32_t)(et_rng_uniform(rng) * 76);
        return;
    }
    if (s_chance(rng, self->fraud_rate)) {
        s_fraud(self, tx);
    } else {
        unsigned index = s_pick_card(self);
        tx->card = index + 1;
        s_legit(self, &self->cards[index], tx);
        tx->label = 0;
        tx->pattern = ET_TXGEN_LEGIT;
    }
    s_card_t *card = &self->cards[tx->card - 1];
    tx->velocity_24h = s_velocity(card, tx->ts);
    s_remember(card, tx->ts);
}

/* Pack field 'index' of the map, correctly. */
static int
s_pack_field(const et_tx_t *tx, msgpack_packer *pk, unsigned index)
{
    const char *key = et_txgen_field_names[index];
    if (msgpack_pack_str_with_body(pk, key, strlen(key)) != 0)
        return -1;
    switch (index) {
    case 0:
        return msgpack_pack_uint64(pk, tx->tx);
    case 1:
        return msgpack_pack_uint64(pk, tx->card);
    case 2:
        return msgpack_pack_double(pk, tx->amount);
    case 3:
        return msgpack_pack_uint32(pk, tx->mcc);
    case 4:
        return msgpack_pack_uint32(pk, tx->hour);
    case 5:
        return msgpack_pack_double(pk, tx->ts);
    case 6:
        return msgpack_pack_double(pk, tx->distance_km);
    case 7:
        return msgpack_pack_uint32(pk, tx->velocity_24h);
    case 8:
        return tx->online ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    default:
        return tx->foreign ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    }
}

int
et_txgen_pack(const et_tx_t *tx, msgpack_packer *pk)
{
    int kind = tx->label == -1 ? tx->pattern : 0;
    unsigned broken = (unsigned)(tx->tx % ET_TXGEN_FIELDS);
    size_t count = ET_TXGEN_FIELDS;
    if (kind == ET_TXGEN_MALFORMED_MISSING)
        count--;
    if (msgpack_pack_map(pk, count) != 0)
        return -1;
    for (unsigned i = 0; i < ET_TXGEN_FIELDS; i++) {
        if (i == broken && kind == ET_TXGEN_MALFORMED_MISSING)
            continue;
        if (i == broken && kind == ET_TXGEN_MALFORMED_TYPE) {
            const char *key = et_txgen_field_names[i];
            if (msgpack_pack_str_with_body(pk, key, strlen(key)) != 0)
                return -1;
            /* A number as text, or nil: both plausible upstream bugs. */
            int rc = (tx->tx / ET_TXGEN_FIELDS) % 2
                         ? msgpack_pack_nil(pk)
                         : msgpack_pack_str_with_body(pk, "12.50", 5);
            if (rc != 0)
                return -1;
            continue;
        }
        if (s_pack_field(tx, pk, i) != 0)
            return -1;
    }
    return 0;
}
