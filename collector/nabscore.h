/* The Numenta Anomaly Benchmark's score of a detector on one series, in
 * the standard application profile (Lavin & Ahmad 2015): the earliest
 * detection in each labelled window earns more the earlier it comes, a
 * missed window costs A_FN, and a detection outside every window costs
 * A_FP, less when it follows a window closely. Rows are positions in the
 * series (0, 1, ...). Pure arithmetic, no state. */
#ifndef ET_NABSCORE_H
#define ET_NABSCORE_H

#include <stdint.h>

/* The standard profile's weights. */
#define ET_NABSCORE_A_TP 1.0
#define ET_NABSCORE_A_FP (-0.11)
#define ET_NABSCORE_A_FN (-1.0)

/* NAB's scaled sigmoid 2 / (1 + e^(5y)) - 1 of a relative position y: 0
 * at a window's last row, 0.98661 at y = -1 (its first row), about -1 for
 * y >= 3 (exactly -1 there). */
double et_nabscore_sigmoid(double y);

/* A window's first detection at 'row', the window being rows
 * first..last (first <= row <= last): A_TP * sigmoid(-(last - row + 1)
 * / (last - first + 1)). */
double et_nabscore_true_positive(uint64_t first, uint64_t last, uint64_t row);

/* A detection at 'row' outside every window. 'has_prev' says whether a
 * window ends before it, rows prev_first..prev_last (prev_last < row):
 * then -A_FP * sigmoid((row - prev_last) / (prev_last - prev_first)),
 * which is close to 0 just after the window and tends to A_FP; without
 * one, or after a one-row window, A_FP. */
double et_nabscore_false_positive(int has_prev, uint64_t prev_first,
                                  uint64_t prev_last, uint64_t row);

/* The raw score normalised for 'windows' labelled windows: 100 * (raw -
 * null) / (perfect - null), where the null detector (no detection) scores
 * windows * A_FN and the perfect one (each window's first row, nothing
 * else) windows * A_TP * sigmoid(-1). 100 is perfect, 0 no better than
 * silence, below 0 worse. 0 when there are no windows. */
double et_nabscore_normalized(double raw, uint64_t windows);

#endif
