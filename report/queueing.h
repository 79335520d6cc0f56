/* Queueing theory for checking measurements: the probability of waiting in
 * M/M/c (Erlang C) and the mean wait in queue of M/G/1 (Pollaczek-Khinchine,
 * exact) and M/G/c (Allen-Cunneen: Erlang C scaled by (1 + Cs^2) / 2, exact
 * for c = 1 and for exponential service), from the arrival rate and the
 * first two moments of the time a server is held. Pure functions. The
 * confidence intervals these are compared with come from the collector
 * (collector/window.c: batch means). */
#ifndef ET_QUEUEING_H
#define ET_QUEUEING_H

/* Erlang C: the probability that an arrival waits, for 'servers' servers
 * offered 'erlangs' = lambda * E[S] (< servers). Through the Erlang B
 * recursion, stable for any c. Returns a value in [0, 1], or -1 when the
 * queue has no steady state (erlangs >= servers) or an argument is bad. */
double et_queueing_erlang_c(unsigned servers, double erlangs);

/* Mean wait in queue (in the moments' unit) of M/G/c with arrival rate
 * 'lambda' (per that unit), E[S] = 'mean' and E[S^2] = 'second':
 * c = 1: lambda E[S^2] / (2 (1 - rho)) (Pollaczek-Khinchine);
 * c > 1: Erlang C E[S] / (c - a) times (1 + Cs^2) / 2 (Allen-Cunneen).
 * A second moment a rounding below E[S]^2 (constant service measured
 * through sums) counts as E[S]^2. Returns -1 when rho >= 1 or an argument
 * is bad (not finite, lambda or mean <= 0, E[S^2] < E[S]^2). */
double et_queueing_wait(unsigned servers, double lambda, double mean,
                        double second);

#endif
