/* NAB scoring arithmetic. The relative positions are those of NAB's
 * reference scorer: inside a window -(last - row + 1) / width, so the
 * first row is -1 and the last -1/width; after a window the distance
 * past its last row over (width - 1). */
#include "collector/nabscore.h"

#include <math.h>

double
et_nabscore_sigmoid(double y)
{
    /* The reference scorer cuts the tail at 3, where the curve is within
     * 1e-6 of -1 anyway; doing the same keeps the two equal. */
    if (y >= 3.0)
        return -1.0;
    return 2.0 / (1.0 + exp(5.0 * y)) - 1.0;
}

double
et_nabscore_true_positive(uint64_t first, uint64_t last, uint64_t row)
{
    double width = (double)(last - first) + 1.0;
    double y = -((double)(last - row) + 1.0) / width;
    return ET_NABSCORE_A_TP * et_nabscore_sigmoid(y);
}

double
et_nabscore_false_positive(int has_prev, uint64_t prev_first,
                           uint64_t prev_last, uint64_t row)
{
    if (!has_prev || prev_last <= prev_first)
        return ET_NABSCORE_A_FP;
    double y = (double)(row - prev_last) / (double)(prev_last - prev_first);
    return -ET_NABSCORE_A_FP * et_nabscore_sigmoid(y);
}

double
et_nabscore_normalized(double raw, uint64_t windows)
{
    if (windows == 0)
        return 0.0;
    double null = (double)windows * ET_NABSCORE_A_FN;
    double perfect =
        (double)windows * ET_NABSCORE_A_TP * et_nabscore_sigmoid(-1.0);
    return 100.0 * (raw - null) / (perfect - null);
}
