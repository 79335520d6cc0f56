/* The fraud model's input: the one place where a card transaction becomes a
 * feature vector, used by eventide-train and by the preprocess function so
 * that training and serving can never disagree. Stateless: a transaction's
 * features depend on its own fields only. Thread-safe: no state. */
#ifndef ET_FEATURES_H
#define ET_FEATURES_H

#include "workers/fraud/txgen.h"

#include <stddef.h>
#include <stdint.h>

/* Number of features; their order is fixed by et_features_name(). */
#define ET_FEATURES_COUNT 14

/* What a valid transaction respects (et_features_check_tx). */
#define ET_FEATURES_AMOUNT_MAX 1e7        /* exclusive; amount > 0 too */
#define ET_FEATURES_DISTANCE_MAX_KM 20100 /* half the Earth's circumference */
#define ET_FEATURES_VELOCITY_MAX 100000
#define ET_FEATURES_MCC_MAX 9999 /* merchant category codes are 4 digits */

/* Merchant-category risk groups, one-hot in the features. */
typedef enum {
    ET_FEATURES_GROUP_EVERYDAY = 0, /* groceries, restaurants, fuel, transit */
    ET_FEATURES_GROUP_RETAIL = 1,   /* shops, and any code not listed */
    ET_FEATURES_GROUP_TRAVEL = 2,   /* airlines, hotels, car rental */
    ET_FEATURES_GROUP_DIGITAL = 3,  /* digital goods, software, streaming */
    ET_FEATURES_GROUP_RESALE = 4,   /* electronics, jewelry, gift cards */
    ET_FEATURES_GROUP_CASH = 5,     /* ATM, quasi-cash, transfers, gambling */
    ET_FEATURES_GROUPS = 6
} et_features_group_t;

/* The risk group of a merchant category code. */
et_features_group_t et_features_mcc_group(uint32_t mcc);

/* "everyday", "retail", ...; NULL when out of range. */
const char *et_features_group_name(int group);

/* Check the fields of a transaction that is about to become features:
 * 0 < amount < ET_FEATURES_AMOUNT_MAX, mcc <= ET_FEATURES_MCC_MAX, hour
 * 0..23, ts finite and >= 0, 0 <= distance_km <= ET_FEATURES_DISTANCE_MAX_KM,
 * velocity_24h <= ET_FEATURES_VELOCITY_MAX, online and foreign 0 or 1.
 * Returns 0, or -1 with *why (may be NULL) pointing at a static text. */
int et_features_check_tx(const et_tx_t *tx, const char **why);

/* Derive the features of 'tx' into 'out'. Returns 0, or -1 with errno
 * EINVAL when et_features_check_tx fails ('out' is then untouched). */
int et_features_from_tx(const et_tx_t *tx, float out[ET_FEATURES_COUNT]);

/* The name of feature 'index' (for docs and the metrics file), or NULL. */
const char *et_features_name(size_t index);

#endif
