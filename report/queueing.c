/* Queueing formulas (see queueing.h). The Erlang B recursion avoids the
 * factorials of the textbook form, which overflow for large c. */
#include "report/queueing.h"

#include <math.h>

double
et_queueing_erlang_c(unsigned servers, double erlangs)
{
    if (servers == 0 || !(erlangs >= 0) || !isfinite(erlangs) ||
        erlangs >= (double)servers)
        return -1;
    double b = 1.0;
    for (unsigned k = 1; k <= servers; k++)
        b = erlangs * b / ((double)k + erlangs * b);
    double rho = erlangs / (double)servers;
    return b / (1.0 - rho * (1.0 - b));
}

double
et_queueing_wait(unsigned servers, double lambda, double mean, double second)
{
    if (servers == 0 || !(lambda > 0) || !(mean > 0) || !isfinite(lambda) ||
        !isfinite(mean) || !isfinite(second))
        return -1;
    /* E[S^2] >= E[S]^2 always; measured sums of a constant can round a
     * few ulps below it. */
    double floor2 = mean * mean;
    if (second < floor2 * (1.0 - 1e-9))
        return -1;
    if (second < floor2)
        second = floor2;
    double erlangs = lambda * mean;
    if (erlangs >= (double)servers)
        return -1;
    double rho = erlangs / (double)servers;
    if (servers == 1)
        return lambda * second / (2.0 * (1.0 - rho));
    double cs2 = second / floor2 - 1.0;
    double c = et_queueing_erlang_c(servers, erlangs);
    return c * mean / ((double)servers - erlangs) * (1.0 + cs2) / 2.0;
}
