/* CURVE keys and key files, the authorized client set, the ZAP handler
 * thread and the socket options that put CURVE on tcp:// links. One
 * concept, CURVE: long because the ZAP handler lives with the keys it
 * checks. */
#include "common/curve.h"

#include "common/cli.h"
#include "common/log.h"
#include "common/zsock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* How often the ZAP thread looks at its stop flag. */
#define S_ZAP_POLL_MS 100
/* A CURVE request has 7 frames; more is malformed. */
#define S_ZAP_FRAMES_MAX 8
/* Key file lines: "public=" or "secret=" and the key. */
#define S_FIELD_LEN 7

static const char s_z85_alphabet[] = "0123456789"
                                     "abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     ".-:+=^!/*?&<>()[]{}@%$#";

typedef struct {
    uint8_t key[ET_CURVE_KEY_BYTES];
    char name[ET_CURVE_NAME_MAX];
} s_entry_t;

struct et_curve_authset_t {
    size_t n;
    s_entry_t entries[ET_CURVE_AUTHORIZED_MAX];
};

struct et_curve_t {
    char dir[PATH_MAX];
    int roles;
    et_curve_keypair_t server;                /* server role */
    et_curve_keypair_t client;                /* client role */
    char server_public[ET_CURVE_KEY_LEN + 1]; /* client role */
    et_curve_authset_t *authorized;           /* server role */

    /* The ZAP handler: its socket belongs to the thread once started. */
    void *zap_sock;
    pthread_t zap_thread;
    int zap_running;
    atomic_int zap_stop;
    atomic_uint_fast64_t refused;
    uint64_t log_last_ns, log_suppressed; /* the thread's own */
};

/* ---- keys and key files ------------------------------------------------- */

int
et_curve_key_check(const char *z85)
{
    if (!z85 || strnlen(z85, ET_CURVE_KEY_LEN + 1) != ET_CURVE_KEY_LEN)
        return -1;
    for (size_t i = 0; i < ET_CURVE_KEY_LEN; i++)
        if (!strchr(s_z85_alphabet, z85[i]))
            return -1;
    uint8_t key[ET_CURVE_KEY_BYTES];
    return zmq_z85_decode(key, z85) ? 0 : -1;
}

int
et_curve_keypair_generate(et_curve_keypair_t *kp)
{
    memset(kp, 0, sizeof *kp);
    return zmq_curve_keypair(kp->public_z85, kp->secret_z85) == 0 ? 0 : -1;
}

int
et_curve_parse(const char *text, size_t len, int want_secret,
               et_curve_keypair_t *kp, char *why, size_t why_size)
{
    memset(kp, 0, sizeof *kp);
    if (len > ET_CURVE_FILE_MAX)
        return et_cli_why(why, why_size, "larger than %d bytes",
                          ET_CURVE_FILE_MAX);
    if (len > 0 && memchr(text, '\0', len))
        return et_cli_why(why, why_size, "holds a NUL byte");
    int have_public = 0, have_secret = 0;
    size_t pos = 0, line_no = 0;
    while (pos < len) {
        const char *line = text + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t line_len = nl ? (size_t)(nl - line) : len - pos;
        pos += line_len + (nl ? 1 : 0);
        line_no++;
        if (line_len == 0 || line[0] == '#')
            continue;
        const char *field;
        char *dst;
        int *seen;
        if (line_len >= S_FIELD_LEN && memcmp(line, "public=", 7) == 0) {
            field = "public", dst = kp->public_z85, seen = &have_public;
        } else if (line_len >= S_FIELD_LEN && memcmp(line, "secret=", 7) == 0) {
            if (!want_secret) {
                et_cli_why(
                    why, why_size,
                    "line %zu: a public key file must not hold a secret key",
                    line_no);
                goto fail;
            }
            field = "secret", dst = kp->secret_z85, seen = &have_secret;
        } else {
            et_cli_why(why, why_size,
                       "line %zu: expected public=KEY or secret=KEY", line_no);
            goto fail;
        }
        if (*seen) {
            et_cli_why(why, why_size, "line %zu: %s key given twice", line_no,
                       field);
            goto fail;
        }
        size_t key_len = line_len - S_FIELD_LEN;
        if (key_len != ET_CURVE_KEY_LEN) {
            et_cli_why(why, why_size,
                       "line %zu: %s key has %zu characters, expected %d Z85 "
                       "characters",
                       line_no, field, key_len, ET_CURVE_KEY_LEN);
            goto fail;
        }
        memcpy(dst, line + S_FIELD_LEN, ET_CURVE_KEY_LEN);
        dst[ET_CURVE_KEY_LEN] = '\0';
        if (et_curve_key_check(dst) != 0) {
            et_cli_why(why, why_size, "line %zu: %s key is not a Z85 key",
                       line_no, field);
            goto fail;
        }
        *seen = 1;
    }
    if (!have_public) {
        et_cli_why(why, why_size, "no public=KEY line");
        goto fail;
    }
    if (want_secret && !have_secret) {
        et_cli_why(why, why_size, "no secret=KEY line");
        goto fail;
    }
    if (have_secret) {
        char derived[ET_CURVE_KEY_LEN + 1];
        if (zmq_curve_public(derived, kp->secret_z85) != 0 ||
            strcmp(derived, kp->public_z85) != 0) {
            et_cli_why(why, why_size, "the public key is not the secret key's");
            goto fail;
        }
    }
    return 0;
fail:
    explicit_bzero(kp, sizeof *kp);
    return -1;
}

/* Read a whole key file into 'buf' (ET_CURVE_FILE_MAX + 1 bytes) after
 * checking what it is and its mode. */
static int
s_read_key_file(const char *path, int secret, char *buf, size_t *len, char *why,
                size_t why_size)
{
    /* O_NONBLOCK: opening a FIFO must not hang; fstat refuses it next. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return et_cli_why(why, why_size, "%s: %s", path, strerror(errno));
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        et_cli_why(why, why_size, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        et_cli_why(why, why_size, "%s: not a regular file", path);
        goto done;
    }
    unsigned mode = (unsigned)(st.st_mode & 07777);
    if (secret && (st.st_mode & 077)) {
        et_cli_why(why, why_size,
                   "%s: mode %04o: a secret key file must not be accessible by "
                   "group or others (chmod 600 %s)",
                   path, mode, path);
        goto done;
    }
    if (!secret && (st.st_mode & 022)) {
        et_cli_why(
            why, why_size,
            "%s: mode %04o: a public key file must not be writable by group "
            "or others (chmod 644 %s)",
            path, mode, path);
        goto done;
    }
    if (st.st_size > ET_CURVE_FILE_MAX) {
        et_cli_why(why, why_size, "%s: larger than %d bytes", path,
                   ET_CURVE_FILE_MAX);
        goto done;
    }
    size_t got = 0;
    while (got <= ET_CURVE_FILE_MAX) {
        ssize_t n = read(fd, buf + got, ET_CURVE_FILE_MAX + 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            et_cli_why(why, why_size, "%s: %s", path, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got > ET_CURVE_FILE_MAX) { /* it grew after fstat */
        et_cli_why(why, why_size, "%s: larger than %d bytes", path,
                   ET_CURVE_FILE_MAX);
        goto done;
    }
    *len = got;
    rc = 0;
done:
    close(fd);
    return rc;
}

static int
s_load(const char *path, int secret, et_curve_keypair_t *kp, char *why,
       size_t why_size)
{
    char buf[ET_CURVE_FILE_MAX + 1];
    size_t len = 0;
    int rc = s_read_key_file(path, secret, buf, &len, why, why_size);
    if (rc == 0) {
        char reason[256];
        rc = et_curve_parse(buf, len, secret, kp, reason, sizeof reason);
        if (rc != 0)
            et_cli_why(why, why_size, "%s: %s", path, reason);
    }
    explicit_bzero(buf, sizeof buf);
    return rc;
}

int
et_curve_keypair_load(const char *path, et_curve_keypair_t *kp, char *why,
                      size_t why_size)
{
    return s_load(path, 1, kp, why, why_size);
}

int
et_curve_public_load(const char *path, char public_z85[ET_CURVE_KEY_LEN + 1],
                     char *why, size_t why_size)
{
    et_curve_keypair_t kp;
    if (s_load(path, 0, &kp, why, why_size) != 0)
        return -1;
    memcpy(public_z85, kp.public_z85, ET_CURVE_KEY_LEN + 1);
    return 0;
}

int
et_curve_keypair_save(const char *path, const et_curve_keypair_t *kp, int force,
                      char *why, size_t why_size)
{
    int secret = kp->secret_z85[0] != '\0';
    if (et_curve_key_check(kp->public_z85) != 0 ||
        (secret && et_curve_key_check(kp->secret_z85) != 0)) {
        errno = EINVAL;
        return et_cli_why(why, why_size, "%s: not a valid key", path);
    }
    mode_t mode = secret ? 0600 : 0644;
    if (force && unlink(path) != 0 && errno != ENOENT)
        return et_cli_why(why, why_size, "%s: %s", path, strerror(errno));
    int fd =
        open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        int err = errno;
        et_cli_why(why, why_size, "%s: %s", path,
                   err == EEXIST ? "exists: not overwritten (use --force)"
                                 : strerror(err));
        errno = err;
        return -1;
    }
    char text[256];
    int len;
    if (secret)
        len = snprintf(text, sizeof text,
                       "# eventide CURVE keypair: keep this file secret "
                       "(mode 0600)\npublic=%s\nsecret=%s\n",
                       kp->public_z85, kp->secret_z85);
    else
        len = snprintf(text, sizeof text,
                       "# eventide CURVE public key\npublic=%s\n",
                       kp->public_z85);
    int rc = -1;
    /* The umask may have taken bits away; never more than 'mode'. */
    if (fchmod(fd, mode) != 0) {
        et_cli_why(why, why_size, "%s: %s", path, strerror(errno));
        goto done;
    }
    for (size_t off = 0; off < (size_t)len;) {
        ssize_t n = write(fd, text + off, (size_t)len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            et_cli_why(why, why_size, "%s: %s", path,
                       n < 0 ? strerror(errno) : "short write");
            goto done;
        }
        off += (size_t)n;
    }
    rc = 0;
done:
    explicit_bzero(text, sizeof text);
    if (close(fd) != 0 && rc == 0)
        rc = et_cli_why(why, why_size, "%s: %s", path, strerror(errno));
    if (rc != 0)
        unlink(path);
    return rc;
}

/* 'dir' exists as a directory, or is created with 'mode'. */
static int
s_ensure_dir(const char *dir, mode_t mode, char *why, size_t why_size)
{
    if (mkdir(dir, mode) != 0 && errno != EEXIST)
        return et_cli_why(why, why_size, "%s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0)
        return et_cli_why(why, why_size, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return et_cli_why(why, why_size, "%s: not a directory", dir);
    return 0;
}

int
et_curve_keys_create(const char *dir, int force, char *why, size_t why_size)
{
    char paths[4][PATH_MAX];
    static const char *const names[4] = {"server.key", "server.pub",
                                         "client.key", "authorized/client.pub"};
    char authorized[PATH_MAX];
    if (snprintf(authorized, sizeof authorized, "%s/authorized", dir) >=
        (int)sizeof authorized)
        return et_cli_why(why, why_size, "%s: path too long", dir);
    for (int i = 0; i < 4; i++)
        if (snprintf(paths[i], PATH_MAX, "%s/%s", dir, names[i]) >= PATH_MAX)
            return et_cli_why(why, why_size, "%s: path too long", dir);
    if (s_ensure_dir(dir, 0700, why, why_size) != 0 ||
        s_ensure_dir(authorized, 0755, why, why_size) != 0)
        return -1;
    /* All or nothing: look before writing anything. */
    for (int i = 0; i < 4 && !force; i++) {
        struct stat st;
        if (lstat(paths[i], &st) == 0)
            return et_cli_why(why, why_size,
                              "%s exists: not overwritten (use --force)",
                              paths[i]);
    }
    et_curve_keypair_t server, client, server_pub, client_pub;
    int rc = -1;
    if (et_curve_keypair_generate(&server) != 0 ||
        et_curve_keypair_generate(&client) != 0) {
        et_cli_why(why, why_size, "cannot generate keys: %s",
                   zmq_strerror(errno));
        goto done;
    }
    memset(&server_pub, 0, sizeof server_pub);
    memset(&client_pub, 0, sizeof client_pub);
    memcpy(server_pub.public_z85, server.public_z85, sizeof server.public_z85);
    memcpy(client_pub.public_z85, client.public_z85, sizeof client.public_z85);
    if (et_curve_keypair_save(paths[0], &server, force, why, why_size) != 0 ||
        et_curve_keypair_save(paths[1], &server_pub, force, why, why_size) !=
            0 ||
        et_curve_keypair_save(paths[2], &client, force, why, why_size) != 0 ||
        et_curve_keypair_save(paths[3], &client_pub, force, why, why_size) != 0)
        goto done;
    rc = 0;
done:
    explicit_bzero(&server, sizeof server);
    explicit_bzero(&client, sizeof client);
    return rc;
}

/* ---- the authorized set ------------------------------------------------- */

et_curve_authset_t *
et_curve_authset_new(void)
{
    return calloc(1, sizeof(et_curve_authset_t));
}

static int
s_name_ok(const char *name, size_t len)
{
    if (len == 0 || len >= ET_CURVE_NAME_MAX || name[0] == '.')
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return 1;
}

int
et_curve_authset_add(et_curve_authset_t *self, const char *public_z85,
                     const char *name)
{
    uint8_t key[ET_CURVE_KEY_BYTES];
    if (!self || !name || !s_name_ok(name, strlen(name)) ||
        et_curve_key_check(public_z85) != 0 ||
        !zmq_z85_decode(key, public_z85)) {
        errno = EINVAL;
        return -1;
    }
    if (et_curve_authset_find(self, key))
        return 0;
    if (self->n == ET_CURVE_AUTHORIZED_MAX) {
        errno = ENOSPC;
        return -1;
    }
    s_entry_t *e = &self->entries[self->n++];
    memcpy(e->key, key, sizeof key);
    snprintf(e->name, sizeof e->name, "%s", name);
    return 0;
}

et_curve_authset_t *
et_curve_authset_load(const char *dir, char *why, size_t why_size)
{
    et_curve_authset_t *self = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        et_cli_why(why, why_size, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(dirfd(d), &st) != 0) {
        et_cli_why(why, why_size, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    /* Whoever can write here can admit a client. */
    if (st.st_mode & 022) {
        et_cli_why(why, why_size,
                   "%s: mode %04o: the authorized key directory must not be "
                   "writable by group or others (chmod 755 %s)",
                   dir, (unsigned)(st.st_mode & 07777), dir);
        goto fail;
    }
    self = et_curve_authset_new();
    if (!self) {
        et_cli_why(why, why_size, "out of memory");
        goto fail;
    }
    struct dirent *entry;
    while ((errno = 0, entry = readdir(d)) != NULL) {
        const char *name = entry->d_name;
        size_t len = strlen(name);
        if (name[0] == '.' || len <= 4 || strcmp(name + len - 4, ".pub") != 0)
            continue;
        char stem[ET_CURVE_NAME_MAX];
        if (!s_name_ok(name, len - 4)) {
            et_cli_why(why, why_size,
                       "%s/%s: a key's name must be 1 to %d characters from "
                       "[A-Za-z0-9_.-]",
                       dir, name, ET_CURVE_NAME_MAX - 1);
            goto fail;
        }
        memcpy(stem, name, len - 4);
        stem[len - 4] = '\0';
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, name) >=
            (int)sizeof path) {
            et_cli_why(why, why_size, "%s/%s: path too long", dir, name);
            goto fail;
        }
        char key[ET_CURVE_KEY_LEN + 1];
        if (et_curve_public_load(path, key, why, why_size) != 0)
            goto fail;
        if (et_curve_authset_add(self, key, stem) != 0) {
            et_cli_why(why, why_size, "%s: more than %d authorized keys", dir,
                       ET_CURVE_AUTHORIZED_MAX);
            goto fail;
        }
    }
    if (errno != 0) {
        et_cli_why(why, why_size, "%s: %s", dir, strerror(errno));
        goto fail;
    }
    if (self->n == 0) {
        et_cli_why(why, why_size,
                   "%s: no NAME.pub key: no client could connect", dir);
        goto fail;
    }
    closedir(d);
    return self;
fail:
    closedir(d);
    et_curve_authset_destroy(&self);
    return NULL;
}

size_t
et_curve_authset_size(const et_curve_authset_t *self)
{
    return self ? self->n : 0;
}

const char *
et_curve_authset_find(const et_curve_authset_t *self, const uint8_t *key)
{
    if (!self || !key)
        return NULL;
    for (size_t i = 0; i < self->n; i++)
        if (memcmp(self->entries[i].key, key, ET_CURVE_KEY_BYTES) == 0)
            return self->entries[i].name;
    return NULL;
}

void
et_curve_authset_destroy(et_curve_authset_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

/* ---- the ZAP decision --------------------------------------------------- */

static int
s_frame_is(const et_curve_frame_t *frame, const char *text)
{
    size_t len = strlen(text);
    return frame->size == len &&
           (len == 0 || memcmp(frame->data, text, len) == 0);
}

void
et_curve_zap_decide(const et_curve_authset_t *authorized,
                    const et_curve_frame_t *request, size_t n_frames,
                    et_curve_decision_t *decision)
{
    decision->status = 400;
    decision->user_id = "";
    if (!request || n_frames < 6 || !s_frame_is(&request[0], "1.0")) {
        decision->text = "malformed request";
        return;
    }
    if (!s_frame_is(&request[2], ET_CURVE_DOMAIN)) {
        decision->text = "wrong domain";
        return;
    }
    if (!s_frame_is(&request[5], "CURVE")) {
        decision->text = "mechanism not allowed";
        return;
    }
    if (n_frames != 7 || request[6].size != ET_CURVE_KEY_BYTES) {
        decision->text = "bad credentials";
        return;
    }
    const char *name = et_curve_authset_find(authorized, request[6].data);
    if (!name) {
        decision->text = "unknown key";
        return;
    }
    decision->status = 200;
    decision->text = "OK";
    decision->user_id = name;
}

/* ---- one process's setup -------------------------------------------------
 */

int
et_curve_is_tcp(const char *endpoint)
{
    return endpoint && strncmp(endpoint, "tcp://", 6) == 0;
}

int
et_curve_check_dir(const char *dir, char *why, size_t why_size)
{
    /* Room for "/authorized/" and the longest key file name. */
    if (!dir || !dir[0] || strlen(dir) >= PATH_MAX - 2 * ET_CURVE_NAME_MAX)
        return et_cli_why(why, why_size, "expected a key directory path");
    struct stat st;
    if (stat(dir, &st) != 0)
        return et_cli_why(why, why_size,
                          "%s (create keys with: eventide keys DIR)",
                          strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return et_cli_why(why, why_size, "not a directory");
    return 0;
}

int
et_curve_opt_dir(const char *value, void *dest, char *why, size_t why_size)
{
    if (et_curve_check_dir(value, why, why_size) != 0)
        return -1;
    /* et_curve_check_dir bounded the length well below PATH_MAX. */
    snprintf(dest, PATH_MAX, "%s", value);
    return 0;
}

et_curve_t *
et_curve_new(const char *dir, int roles, char *why, size_t why_size)
{
    char path[PATH_MAX];
    if (et_curve_check_dir(dir, why, why_size) != 0)
        return NULL;
    et_curve_t *self = calloc(1, sizeof *self);
    if (!self) {
        et_cli_why(why, why_size, "out of memory");
        return NULL;
    }
    snprintf(self->dir, sizeof self->dir, "%s", dir);
    self->roles = roles;
    atomic_init(&self->zap_stop, 0);
    atomic_init(&self->refused, 0);
    if (roles & ET_CURVE_SERVER) {
        snprintf(path, sizeof path, "%s/server.key", dir);
        if (et_curve_keypair_load(path, &self->server, why, why_size) != 0)
            goto fail;
        snprintf(path, sizeof path, "%s/authorized", dir);
        self->authorized = et_curve_authset_load(path, why, why_size);
        if (!self->authorized)
            goto fail;
    }
    if (roles & ET_CURVE_CLIENT) {
        snprintf(path, sizeof path, "%s/client.key", dir);
        if (et_curve_keypair_load(path, &self->client, why, why_size) != 0)
            goto fail;
        /* A client host needs only the server's public key; where the
         * secret one is at hand too, its public line serves. */
        snprintf(path, sizeof path, "%s/server.pub", dir);
        struct stat st;
        if (stat(path, &st) == 0 || errno != ENOENT) {
            if (et_curve_public_load(path, self->server_public, why,
                                     why_size) != 0)
                goto fail;
        } else {
            et_curve_keypair_t server;
            snprintf(path, sizeof path, "%s/server.key", dir);
            if (et_curve_keypair_load(path, &server, why, why_size) != 0) {
                et_cli_why(why, why_size,
                           "%s/server.pub: no such file (a client needs the "
                           "server's public key)",
                           dir);
                goto fail;
            }
            memcpy(self->server_public, server.public_z85,
                   sizeof self->server_public);
            explicit_bzero(&server, sizeof server);
        }
    }
    return self;
fail:
    et_curve_destroy(&self);
    return NULL;
}

static void
s_printable(char *dst, size_t size, const et_curve_frame_t *frame)
{
    size_t n = 0;
    const unsigned char *p = frame ? frame->data : NULL;
    for (size_t i = 0; p && i < frame->size && n + 1 < size; i++)
        dst[n++] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
    dst[n] = '\0';
}

/* Answer one ZAP request. -1 when the context is terminating. */
static int
s_zap_serve(et_curve_t *self)
{
    zmq_msg_t frames[S_ZAP_FRAMES_MAX];
    int too_many = 0;
    int n = et_zsock_recv(self->zap_sock, frames, S_ZAP_FRAMES_MAX, &too_many,
                          ZMQ_DONTWAIT);
    if (n < 0)
        return errno == ETERM ? -1 : 0;
    et_curve_frame_t request[S_ZAP_FRAMES_MAX];
    for (int i = 0; i < n; i++) {
        request[i].data = zmq_msg_data(&frames[i]);
        request[i].size = zmq_msg_size(&frames[i]);
    }
    et_curve_decision_t d;
    et_curve_zap_decide(self->authorized, request, too_many ? 0 : (size_t)n,
                        &d);
    char status[4];
    snprintf(status, sizeof status, "%d", d.status);
    /* The reply: version, request id, status, text, user id, metadata. */
    const void *rid = n > 1 ? request[1].data : "";
    size_t rid_len = n > 1 ? request[1].size : 0;
    int rc = 0;
    if (zmq_send(self->zap_sock, "1.0", 3, ZMQ_SNDMORE) < 0 ||
        zmq_send(self->zap_sock, rid, rid_len, ZMQ_SNDMORE) < 0 ||
        zmq_send(self->zap_sock, status, 3, ZMQ_SNDMORE) < 0 ||
        zmq_send(self->zap_sock, d.text, strlen(d.text), ZMQ_SNDMORE) < 0 ||
        zmq_send(self->zap_sock, d.user_id, strlen(d.user_id), ZMQ_SNDMORE) <
            0 ||
        zmq_send(self->zap_sock, "", 0, 0) < 0) {
        rc = errno == ETERM ? -1 : 0;
        if (rc == 0)
            ET_LOG_ERROR("ZAP reply failed: %s", zmq_strerror(errno));
    }
    char key[ET_CURVE_KEY_LEN + 1] = "(none)";
    if (n >= 7 && request[6].size == ET_CURVE_KEY_BYTES &&
        !zmq_z85_encode(key, request[6].data, ET_CURVE_KEY_BYTES))
        snprintf(key, sizeof key, "(unencodable)");
    char address[64] = "";
    s_printable(address, sizeof address, n > 3 ? &request[3] : NULL);
    if (d.status == 200) {
        ET_LOG_DEBUG("admitted client key %s (%s) from %s", key, d.user_id,
                     address[0] ? address : "an unknown address");
    } else {
        uint64_t refused = atomic_fetch_add(&self->refused, 1) + 1;
        et_log_limited(&self->log_last_ns, &self->log_suppressed,
                       ET_LOG_LEVEL_WARN,
                       "refused client key %s (%s) from %s; %llu refused so "
                       "far",
                       key, d.text, address[0] ? address : "an unknown address",
                       (unsigned long long)refused);
    }
    et_zsock_frames_close(frames, n);
    return rc;
}

static void *
s_zap_thread(void *arg)
{
    et_curve_t *self = arg;
    while (!atomic_load(&self->zap_stop)) {
        zmq_pollitem_t item = {self->zap_sock, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&item, 1, S_ZAP_POLL_MS);
        if (rc < 0) {
            if (errno == ETERM)
                break;
            if (errno != EINTR) {
                /* Never exit on a surprise: without this thread libzmq
                 * would admit every client. */
                ET_LOG_ERROR("ZAP handler poll: %s", zmq_strerror(errno));
                struct timespec pause = {0, S_ZAP_POLL_MS * 1000000L};
                nanosleep(&pause, NULL);
            }
            continue;
        }
        if ((item.revents & ZMQ_POLLIN) && s_zap_serve(self) != 0)
            break;
    }
    zmq_close(self->zap_sock);
    self->zap_sock = NULL;
    return NULL;
}

int
et_curve_zap_start(et_curve_t *self, void *ctx)
{
    if (!self || !(self->roles & ET_CURVE_SERVER) || self->zap_running) {
        ET_LOG_ERROR("ZAP handler: no server keys, or started twice");
        errno = EINVAL;
        return -1;
    }
    int linger = 0;
    self->zap_sock = zmq_socket(ctx, ZMQ_REP);
    if (!self->zap_sock ||
        zmq_setsockopt(self->zap_sock, ZMQ_LINGER, &linger, sizeof linger) !=
            0 ||
        zmq_bind(self->zap_sock, ET_CURVE_ZAP_ENDPOINT) != 0) {
        ET_LOG_ERROR("ZAP handler: cannot bind %s: %s", ET_CURVE_ZAP_ENDPOINT,
                     zmq_strerror(errno));
        goto fail;
    }
    /* The thread must not take SIGINT/SIGTERM from the main thread. */
    sigset_t block, saved;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    int rc = pthread_sigmask(SIG_BLOCK, &block, &saved);
    if (rc == 0) {
        rc = pthread_create(&self->zap_thread, NULL, s_zap_thread, self);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
    }
    if (rc != 0) {
        ET_LOG_ERROR("ZAP handler: cannot start its thread: %s", strerror(rc));
        errno = rc;
        goto fail;
    }
    self->zap_running = 1;
    ET_LOG_INFO(
        "CURVE: ZAP handler admits %zu client key(s) from %s/authorized",
        et_curve_authset_size(self->authorized), self->dir);
    return 0;
fail:;
    int saved_errno = errno;
    if (self->zap_sock)
        zmq_close(self->zap_sock);
    self->zap_sock = NULL;
    errno = saved_errno;
    return -1;
}

int
et_curve_bind(et_curve_t *self, void *sock, const char *endpoint)
{
    if (self && et_curve_is_tcp(endpoint)) {
        int one = 1;
        if (!(self->roles & ET_CURVE_SERVER) || !self->zap_running) {
            /* Fail closed: a CURVE server without ZAP admits anyone. */
            ET_LOG_ERROR("cannot bind %s with CURVE: no server keys or no ZAP "
                         "handler",
                         endpoint);
            errno = EINVAL;
            return -1;
        }
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, self->server.secret_z85,
                           ET_CURVE_KEY_LEN + 1) != 0 ||
            zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, ET_CURVE_DOMAIN,
                           strlen(ET_CURVE_DOMAIN)) != 0) {
            ET_LOG_ERROR("cannot set CURVE server options for %s: %s", endpoint,
                         zmq_strerror(errno));
            return -1;
        }
        if (et_zsock_bind(sock, endpoint) != 0)
            return -1;
        char bound[256];
        size_t len = sizeof bound;
        if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, bound, &len) != 0)
            snprintf(bound, sizeof bound, "%s", endpoint);
        ET_LOG_INFO("CURVE on %s (server)", bound);
        return 0;
    }
    return et_zsock_bind(sock, endpoint);
}

int
et_curve_connect(et_curve_t *self, void *sock, const char *endpoint)
{
    if (self && et_curve_is_tcp(endpoint)) {
        if (!(self->roles & ET_CURVE_CLIENT)) {
            ET_LOG_ERROR("cannot connect %s with CURVE: no client keys",
                         endpoint);
            errno = EINVAL;
            return -1;
        }
        if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, self->server_public,
                           ET_CURVE_KEY_LEN + 1) != 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, self->client.public_z85,
                           ET_CURVE_KEY_LEN + 1) != 0 ||
            zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, self->client.secret_z85,
                           ET_CURVE_KEY_LEN + 1) != 0) {
            ET_LOG_ERROR("cannot set CURVE client options for %s: %s", endpoint,
                         zmq_strerror(errno));
            return -1;
        }
        ET_LOG_DEBUG("CURVE on %s (client key %s)", endpoint,
                     self->client.public_z85);
    }
    return et_zsock_connect(sock, endpoint);
}

uint64_t
et_curve_refused(const et_curve_t *self)
{
    /* atomic_load takes no const pointer in every libc's stdatomic. */
    return self ? atomic_load(&((et_curve_t *)self)->refused) : 0;
}

void
et_curve_destroy(et_curve_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    et_curve_t *self = *self_p;
    if (self->zap_running) {
        atomic_store(&self->zap_stop, 1);
        int rc = pthread_join(self->zap_thread, NULL);
        if (rc != 0)
            ET_LOG_ERROR("cannot join the ZAP handler: %s", strerror(rc));
    }
    et_curve_authset_destroy(&self->authorized);
    explicit_bzero(self, sizeof *self);
    free(self);
    *self_p = NULL;
}
