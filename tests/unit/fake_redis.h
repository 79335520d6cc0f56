/* Shared by the tests of the Redis clients (test_store.c, test_rstream.c,
 * test_sink.c): a fake Redis on a unix socket that writes one fixed
 * answer after each request it reads (garbage, a refusal, a right one),
 * or never answers, and keeps the first bytes it was sent so a test can
 * check the command a client built. Include after cmocka.h. */
#ifndef ET_TEST_FAKE_REDIS_H
#define ET_TEST_FAKE_REDIS_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define FAKE_REDIS_KEEP 8192

typedef struct {
    int listener;
    const char *reply; /* written after each request; NULL: never answer */
    int connections;
    pthread_mutex_t lock; /* guards what follows */
    char received[FAKE_REDIS_KEEP + 1];
    size_t received_len;
    pthread_t thread;
    char path[108];
} fake_redis_t;

static inline void *
fake_redis_serve(void *arg)
{
    fake_redis_t *fake = arg;
    for (;;) {
        int fd = accept(fake->listener, NULL, NULL);
        if (fd < 0)
            return NULL;
        fake->connections++;
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
            pthread_mutex_lock(&fake->lock);
            size_t room = FAKE_REDIS_KEEP - fake->received_len;
            size_t keep = (size_t)n < room ? (size_t)n : room;
            memcpy(fake->received + fake->received_len, buf, keep);
            fake->received_len += keep;
            fake->received[fake->received_len] = '\0';
            pthread_mutex_unlock(&fake->lock);
            if (fake->reply && write(fd, fake->reply, strlen(fake->reply)) < 0)
                break;
        }
        close(fd);
    }
}

/* Listen on /tmp/et-test-NAME-PID.sock; 'reply' as above. */
static inline void
fake_redis_start(fake_redis_t *fake, const char *name, const char *reply)
{
    memset(fake, 0, sizeof *fake);
    snprintf(fake->path, sizeof fake->path, "/tmp/et-test-%s-%ld.sock", name,
             (long)getpid());
    unlink(fake->path);
    fake->listener = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fake->listener >= 0);
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", fake->path);
    assert_int_equal(
        bind(fake->listener, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(listen(fake->listener, 4), 0);
    fake->reply = reply;
    assert_int_equal(pthread_mutex_init(&fake->lock, NULL), 0);
    assert_int_equal(
        pthread_create(&fake->thread, NULL, fake_redis_serve, fake), 0);
}

/* The bytes received so far, copied into dst[size] (NUL-terminated). */
static inline size_t
fake_redis_received(fake_redis_t *fake, char *dst, size_t size)
{
    pthread_mutex_lock(&fake->lock);
    size_t n = fake->received_len < size - 1 ? fake->received_len : size - 1;
    memcpy(dst, fake->received, n);
    dst[n] = '\0';
    pthread_mutex_unlock(&fake->lock);
    return n;
}

static inline void
fake_redis_stop(fake_redis_t *fake)
{
    shutdown(fake->listener, SHUT_RDWR);
    close(fake->listener);
    pthread_join(fake->thread, NULL);
    pthread_mutex_destroy(&fake->lock);
    unlink(fake->path);
}

#endif
