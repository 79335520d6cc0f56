/* Figures drawn by a gnuplot child process: find gnuplot in PATH before
 * anything is written, then write a figure's data and script atomically,
 * run gnuplot on them inside the output directory with a bounded time,
 * and check that every figure it should draw is there. */
#ifndef ET_PLOT_H
#define ET_PLOT_H

#include "common/atomicfile.h"

#include <signal.h>
#include <stddef.h>

/* gnuplot draws six small figures in well under a second. */
#define ET_PLOT_TIMEOUT_S 120

/* One gnuplot run. Every name is relative to 'dir', where gnuplot runs, so
 * no user-supplied path is ever quoted into a script. */
typedef struct {
    const char *dir;
    const char *data_name;   /* "plots.dat", written by write_data */
    const char *script_name; /* "plots.gp", written by write_script */
    const char *log_name;    /* "plots.log": gnuplot's stderr */
    et_atomicfile_writer_fn write_data, write_script;
    const void *context;        /* passed to both writers */
    const char *const *figures; /* "latency.png", ...: what it must draw */
    size_t n_figures;
} et_plot_job_t;

/* Search PATH like execvp would for an executable gnuplot and put its
 * absolute path in out[size] (the child changes directory before exec, so
 * empty and relative PATH entries are resolved against our own working
 * directory). Returns 0, or -1 with errno ENOENT. */
int et_plot_find_gnuplot(char *out, size_t size);

/* 'name' (a function's, a scenario's: text from a summary or a path) as a
 * gnuplot title or label: anything beyond letters, digits, '.', '_' and
 * '-' becomes '_', so it can never end the script's string. */
void et_plot_label(char *out, size_t size, const char *name);

/* Remove the job's old figures (so a failure never leaves stale ones that
 * look current), write its data and script, run 'gnuplot SCRIPT' inside
 * dir (stdin and stdout /dev/null, stderr to the log) and check that every
 * figure was written and is not empty. gnuplot is killed when it runs
 * longer than ET_PLOT_TIMEOUT_S or when *stop (may be NULL) becomes
 * non-zero. Returns 0, or -1 with one line in detail[detail_size] saying
 * what failed ("gnuplot exited with status 1; its messages are in
 * plots.log"); when gnuplot itself failed, the first lines of its log are
 * also logged. */
int et_plot_draw(const et_plot_job_t *job, const char *gnuplot,
                 const volatile sig_atomic_t *stop, char *detail,
                 size_t detail_size);

#endif
