/* What a system call and a thread wake-up cost on this machine, the floor
 * under every hop of the pipeline (each libzmq hop wakes three threads:
 * the sender's I/O thread, the receiver's I/O thread, the receiver). Two
 * threads pass a token through a pair of eventfds (one write and one
 * blocking read each way, as libzmq's mailboxes do): back to back, and
 * paced (one pass every --interval-us, so the CPUs go idle between
 * passes, as at light load). Run it under `taskset -c 0` to see the same
 * with both threads on one CPU. Prints key=value lines. */
#include "common/clock.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PROG "eventide-bench-wake"
#define PASSES_MAX 1000000

typedef struct {
    int to_echo, to_main; /* eventfds */
    long passes;          /* the echo thread's count, warm-up included */
} s_pair_t;

static int
s_take(int fd)
{
    uint64_t value;
    ssize_t n;
    do {
        n = read(fd, &value, sizeof value);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof value ? 0 : -1;
}

static int
s_give(int fd)
{
    uint64_t one = 1;
    ssize_t n;
    do {
        n = write(fd, &one, sizeof one);
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof one ? 0 : -1;
}

static void *
s_echo(void *arg)
{
    s_pair_t *pair = arg;
    for (long i = 0; i < pair->passes; i++)
        if (s_take(pair->to_echo) != 0 || s_give(pair->to_main) != 0)
            break;
    return NULL;
}

static int
s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* 'passes' round trips after 'warmup' unmeasured ones, one every
 * 'interval_us' (0: back to back); their times into 'rtt_ns', sorted. */
static int
s_ping_pong(long warmup, long passes, long interval_us, uint64_t *rtt_ns)
{
    s_pair_t pair = {.to_echo = eventfd(0, EFD_CLOEXEC),
                     .to_main = eventfd(0, EFD_CLOEXEC),
                     .passes = warmup + passes};
    if (pair.to_echo < 0 || pair.to_main < 0) {
        perror(PROG ": eventfd");
        return -1;
    }
    pthread_t echo;
    if (pthread_create(&echo, NULL, s_echo, &pair) != 0) {
        fprintf(stderr, PROG ": cannot start a thread\n");
        return -1;
    }
    int rc = 0;
    uint64_t next = et_clock_mono_ns();
    for (long i = 0; i < warmup + passes; i++) {
        if (interval_us > 0) {
            next += (uint64_t)interval_us * ET_NS_PER_US;
            while (et_clock_sleep_until_mono(next) != 0)
                ;
        }
        uint64_t start = et_clock_mono_ns();
        if (s_give(pair.to_echo) != 0 || s_take(pair.to_main) != 0) {
            perror(PROG ": eventfd");
            rc = -1;
            break;
        }
        if (i >= warmup)
            rtt_ns[i - warmup] = et_clock_mono_ns() - start;
    }
    if (rc != 0)
        pthread_cancel(echo);
    pthread_join(echo, NULL);
    close(pair.to_echo);
    close(pair.to_main);
    if (rc == 0)
        qsort(rtt_ns, (size_t)passes, sizeof *rtt_ns, s_cmp_u64);
    return rc;
}

static void
s_usage(FILE *to)
{
    fprintf(to,
            "usage: " PROG " [options]\n"
            "What a system call and a wake-up of another thread cost here.\n"
            "  --passes N        measured round trips per mode (default "
            "10000, at most %d)\n"
            "  --paced N         of them paced (default 300)\n"
            "  --interval-us N   one paced round trip every N us (default "
            "10000)\n"
            "  --help            this text\n"
            "Prints key=value lines: syscall_ns, wake_rtt_p50_us (two "
            "wake-ups, back to back), paced_wake_rtt_p50_us.\n",
            PASSES_MAX);
}

/* A whole number in [min, max], or -1. */
static long
s_number(const char *text, long min, long max)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max)
        return -1;
    return value;
}

int
main(int argc, char **argv)
{
    long passes = 10000, paced = 300, interval_us = 10000;
    static const struct option options[] = {
        {"passes", required_argument, NULL, 'n'},
        {"paced", required_argument, NULL, 'p'},
        {"interval-us", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt, index = 0;
    while ((opt = getopt_long(argc, argv, "", options, &index)) != -1) {
        if (opt == 'h') {
            s_usage(stdout);
            return 0;
        }
        if (opt == '?') {
            s_usage(stderr);
            return 2;
        }
        long *dest = opt == 'n' ? &passes : opt == 'p' ? &paced : &interval_us;
        *dest = s_number(optarg, 1, opt == 'i' ? 1000000 : PASSES_MAX);
        if (*dest < 0) {
            fprintf(stderr, PROG ": --%s: a whole number in range\n",
                    options[index].name);
            return 2;
        }
    }
    if (optind < argc) {
        s_usage(stderr);
        return 2;
    }
    uint64_t *rtt = malloc((size_t)passes * sizeof *rtt);
    if (!rtt) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    long calls = 200000;
    uint64_t start = et_clock_mono_ns();
    for (long i = 0; i < calls; i++)
        (void)syscall(SYS_getppid);
    printf("syscall_ns=%.0f\n",
           (double)(et_clock_mono_ns() - start) / (double)calls);

    if (s_ping_pong(1000, passes, 0, rtt) != 0)
        return 1;
    printf("wake_rtt_p50_us=%.1f\nwake_rtt_p99_us=%.1f\n",
           (double)rtt[passes / 2] / 1e3, (double)rtt[passes * 99 / 100] / 1e3);
    if (paced > passes)
        paced = passes;
    if (s_ping_pong(10, paced, interval_us, rtt) != 0)
        return 1;
    printf("paced_interval_us=%ld\npaced_wake_rtt_p50_us=%.1f\n"
           "paced_wake_rtt_p99_us=%.1f\n",
           interval_us, (double)rtt[paced / 2] / 1e3,
           (double)rtt[paced * 99 / 100] / 1e3);
    free(rtt);
    return 0;
}
