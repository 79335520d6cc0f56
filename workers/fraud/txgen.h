/* A generator of labelled card transactions for the fraud workflow: the
 * producer's event source and eventide-train's training data. Legitimate
 * transactions follow per-card habits (home location, usual amount, active
 * hours); fraud follows a few documented patterns (card testing, account
 * takeover, skimmed card used far away, night-time bursts) injected at a
 * known base rate. Same seed, same stream. The model never sees the
 * generator: only the transaction fields, as a bank would. */
#ifndef ET_TXGEN_H
#define ET_TXGEN_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t tx;           /* transaction id, from 0 */
    uint64_t card;         /* card id */
    double amount;         /* currency units, > 0 for a valid transaction */
    uint32_t mcc;          /* merchant category code */
    uint32_t hour;         /* 0-23, card holder's local time */
    double ts;             /* event time, seconds since the stream began */
    double distance_km;    /* from the card's home */
    uint32_t velocity_24h; /* this card's transactions in the previous 24 h */
    int online;
    int foreign;
    int label;   /* 1 fraud, 0 legitimate, -1 malformed (no label) */
    int pattern; /* which fraud pattern, 0 for legitimate; for a malformed
                    event (label -1) how it is broken (et_txgen_malformed_t) */
} et_tx_t;

/* Fraud patterns (et_tx_t.pattern when label is 1); shares in txgen.c and
 * docs/data.md. */
typedef enum {
    ET_TXGEN_LEGIT = 0,
    ET_TXGEN_CARD_TESTING = 1,     /* bursts of tiny online charges */
    ET_TXGEN_ACCOUNT_TAKEOVER = 2, /* large online buys from a new place */
    ET_TXGEN_SKIMMED = 3,          /* cloned card used in person, far away */
    ET_TXGEN_NIGHT_BURST = 4,      /* several mid-size charges at night */
    ET_TXGEN_FRIENDLY = 5,         /* first-party fraud: looks legitimate */
    ET_TXGEN_PATTERNS = 6          /* one past the last */
} et_txgen_pattern_t;

/* How a malformed event (label -1) is broken (et_tx_t.pattern). MISSING
 * and TYPE break the field et_txgen_field_names[tx % ET_TXGEN_FIELDS]. */
typedef enum {
    ET_TXGEN_MALFORMED_MISSING = 1,  /* one key absent from the map */
    ET_TXGEN_MALFORMED_TYPE = 2,     /* one value a string or nil */
    ET_TXGEN_MALFORMED_NEGATIVE = 3, /* amount < 0 (also in the struct) */
    ET_TXGEN_MALFORMED_RANGE = 4,    /* hour 24..99 (also in the struct) */
    ET_TXGEN_MALFORMED_KINDS = 5     /* one past the last */
} et_txgen_malformed_t;

/* Keys of the producer's map, in the order they are packed. */
#define ET_TXGEN_FIELDS 10
extern const char *const et_txgen_field_names[ET_TXGEN_FIELDS];

typedef struct et_txgen_t et_txgen_t;

/* New generator. 'fraud_rate' is the base rate of fraud among valid
 * transactions (0..0.5; default 0.02 when negative), 'malformed_rate' the
 * share of deliberately malformed events (0..0.5) that preprocess must
 * filter out. Returns NULL with errno EINVAL or ENOMEM. */
et_txgen_t *et_txgen_new(uint64_t seed, double fraud_rate,
                         double malformed_rate);

void et_txgen_destroy(et_txgen_t **self_p);

/* The next transaction of the stream. */
void et_txgen_next(et_txgen_t *self, et_tx_t *tx);

/* Append 'tx' as the producer's payload map (docs/workflows.md). A
 * malformed transaction is written malformed (a field missing, of the wrong
 * type or out of range). Returns 0 or -1. */
int et_txgen_pack(const et_tx_t *tx, msgpack_packer *pk);

#endif
