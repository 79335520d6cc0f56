/* The gnuplot child process. We wait with waitpid(WNOHANG) and short naps
 * rather than SIGCHLD, so the stop flag and the deadline are looked at
 * every 10 ms whatever the child does. */
#include "report/plot.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/markdown.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
et_plot_find_gnuplot(char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        char candidate[PATH_MAX], resolved[PATH_MAX];
        int n = snprintf(candidate, sizeof candidate, "%.*s/gnuplot",
                         (int)(len ? len : 1), len ? path : ".");
        struct stat st;
        if (n > 0 && (size_t)n < sizeof candidate &&
            realpath(candidate, resolved) && stat(resolved, &st) == 0 &&
            S_ISREG(st.st_mode) && access(resolved, X_OK) == 0 &&
            strlen(resolved) < size) {
            memcpy(out, resolved, strlen(resolved) + 1);
            return 0;
        }
        path += len + (end ? 1 : 0);
    }
    errno = ENOENT;
    return -1;
}

/* Copy the first lines of gnuplot's messages into our log. */
static void
s_log_gnuplot_errors(const char *dir, const char *log_name)
{
    char path[PATH_MAX], buf[2048];
    int n = snprintf(path, sizeof path, "%s/%s", dir, log_name);
    if (n < 0 || (size_t)n >= sizeof path)
        return;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    for (int lines = 0; lines < 8 && fgets(buf, sizeof buf, f); lines++) {
        char clean[256];
        buf[strcspn(buf, "\n")] = '\0';
        et_md_printable(clean, sizeof clean, buf);
        ET_LOG_ERROR("gnuplot: %s", clean);
    }
    fclose(f);
}

/* Wait for 'pid' until it exits, the deadline passes or *stop is set
 * (then it is killed). 0 with its status, or -1 with 'detail'. */
static int
s_wait(pid_t pid, const volatile sig_atomic_t *stop, int *status, char *detail,
       size_t detail_size)
{
    uint64_t deadline =
        et_clock_mono_ns() + (uint64_t)ET_PLOT_TIMEOUT_S * ET_NS_PER_S;
    for (;;) {
        pid_t got = waitpid(pid, status, WNOHANG);
        if (got == pid)
            return 0;
        if (got < 0 && errno != EINTR) {
            snprintf(detail, detail_size, "waitpid: %s", strerror(errno));
            return -1;
        }
        int stopped = stop && *stop;
        if (stopped || et_clock_mono_ns() > deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, status, 0) < 0 && errno == EINTR)
                ;
            snprintf(detail, detail_size,
                     stopped ? "interrupted: gnuplot was stopped"
                             : "gnuplot took longer than %d s and was "
                               "stopped",
                     ET_PLOT_TIMEOUT_S);
            return -1;
        }
        struct timespec nap = {0, 10 * 1000 * 1000};
        nanosleep(&nap, NULL); /* EINTR: the loop looks at the flag */
    }
}

/* Run 'gnuplot SCRIPT' inside 'dir', stdout to /dev/null, stderr to
 * LOG_NAME there, and wait for it. -1 with the reason in 'detail'. */
static int
s_run(const et_plot_job_t *job, const char *gnuplot,
      const volatile sig_atomic_t *stop, char *detail, size_t detail_size)
{
    char log_path[PATH_MAX];
    int null_fd = -1, log_fd = -1;
    int n =
        snprintf(log_path, sizeof log_path, "%s/%s", job->dir, job->log_name);
    if (n < 0 || (size_t)n >= sizeof log_path) {
        snprintf(detail, detail_size, "%s: path too long", job->log_name);
        return -1;
    }
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (null_fd < 0 || log_fd < 0) {
        snprintf(detail, detail_size, "cannot open %s: %s",
                 null_fd < 0 ? "/dev/null" : job->log_name, strerror(errno));
        goto fail;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(detail, detail_size, "cannot start gnuplot: fork: %s",
                 strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        /* Child: async-signal-safe calls only until exec. */
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGPIPE, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        if (dup2(null_fd, STDIN_FILENO) < 0 ||
            dup2(null_fd, STDOUT_FILENO) < 0 ||
            dup2(log_fd, STDERR_FILENO) < 0 || chdir(job->dir) != 0)
            _exit(126);
        char *const argv[] = {(char *)"gnuplot", (char *)job->script_name,
                              NULL};
        execv(gnuplot, argv);
        _exit(127);
    }
    close(null_fd);
    close(log_fd);
    null_fd = log_fd = -1;

    int status = 0;
    if (s_wait(pid, stop, &status, detail, detail_size) != 0)
        return -1;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        snprintf(detail, detail_size,
                 "gnuplot exited with status %d%s; its messages are in %s",
                 WEXITSTATUS(status),
                 WEXITSTATUS(status) >= 126 ? " (could not start)" : "",
                 job->log_name);
    else
        snprintf(detail, detail_size,
                 "gnuplot was killed by signal %d; its messages are in %s",
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0, job->log_name);
    s_log_gnuplot_errors(job->dir, job->log_name);
    return -1;
fail:
    if (null_fd >= 0)
        close(null_fd);
    if (log_fd >= 0)
        close(log_fd);
    return -1;
}

int
et_plot_draw(const et_plot_job_t *job, const char *gnuplot,
             const volatile sig_atomic_t *stop, char *detail,
             size_t detail_size)
{
    char path[PATH_MAX];
    for (size_t i = 0; i < job->n_figures; i++) {
        int n = snprintf(path, sizeof path, "%s/%s", job->dir, job->figures[i]);
        if (n < 0 || (size_t)n >= sizeof path ||
            (unlink(path) != 0 && errno != ENOENT)) {
            snprintf(detail, detail_size, "cannot remove the old %s: %s",
                     job->figures[i],
                     n < 0 || (size_t)n >= sizeof path ? "path too long"
                                                       : strerror(errno));
            return -1;
        }
    }
    const char *written[] = {job->data_name, job->script_name};
    et_atomicfile_writer_fn writers[] = {job->write_data, job->write_script};
    for (size_t i = 0; i < 2; i++) {
        if (et_atomicfile_write(job->dir, written[i], writers[i],
                                job->context) != 0) {
            snprintf(detail, detail_size, "cannot write %s: %s", written[i],
                     strerror(errno));
            return -1;
        }
    }
    if (s_run(job, gnuplot, stop, detail, detail_size) != 0)
        return -1;
    for (size_t i = 0; i < job->n_figures; i++) {
        struct stat st;
        int n = snprintf(path, sizeof path, "%s/%s", job->dir, job->figures[i]);
        if (n < 0 || (size_t)n >= sizeof path || stat(path, &st) != 0 ||
            st.st_size == 0) {
            snprintf(detail, detail_size, "gnuplot did not write %s; see %s",
                     job->figures[i], job->log_name);
            return -1;
        }
    }
    return 0;
}

void
et_plot_label(char *out, size_t size, const char *name)
{
    size_t i = 0;
    for (; name[i] && i + 1 < size; i++) {
        char c = name[i];
        int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        out[i] = plain ? c : '_';
    }
    out[i] = '\0';
}
