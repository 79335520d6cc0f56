/* Unit tests for common/curve: key checks and generation, strict key file
 * parsing, permission refusals, the authorized set, the ZAP decision as a
 * pure function, and a real CURVE link that admits one key and refuses
 * another. */
// cmocka.h needs these four first, in this order.
// clang-format off
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
// clang-format on

#include "tmpdir_fixture.h"

#include "common/curve.h"
#include "common/log.h"
#include "common/zsock.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

/* A valid keypair for the parser tests, made once. */
static et_curve_keypair_t s_kp;
static char s_tmp[64];

static int
s_setup(void **state)
{
    (void)state;
    snprintf(s_tmp, sizeof s_tmp, "/tmp/et-curve-test.XXXXXX");
    if (!mkdtemp(s_tmp))
        return -1;
    return et_curve_keypair_generate(&s_kp);
}

static int
s_teardown(void **state)
{
    (void)state;
    return et_test_rm_tree(s_tmp);
}

/* Write 'text' to s_tmp/name with 'mode'; returns the path (static). */
static const char *
s_write(const char *name, const char *text, mode_t mode)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", s_tmp, name);
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
    return path;
}

static void
s_key_text(char *buf, size_t size, const et_curve_keypair_t *kp)
{
    snprintf(buf, size, "# a comment\npublic=%s\n\nsecret=%s\n", kp->public_z85,
             kp->secret_z85);
}

// ---------------------------------------------------------------------------
// Keys

static void
test_curve_generated_keys_are_valid_and_differ(void **state)
{
    (void)state;
    et_curve_keypair_t a, b;
    assert_int_equal(et_curve_keypair_generate(&a), 0);
    assert_int_equal(et_curve_keypair_generate(&b), 0);
    assert_int_equal(et_curve_key_check(a.public_z85), 0);
    assert_int_equal(et_curve_key_check(a.secret_z85), 0);
    assert_string_not_equal(a.public_z85, b.public_z85);
    assert_string_not_equal(a.secret_z85, b.secret_z85);
    char derived[ET_CURVE_KEY_LEN + 1];
    assert_int_equal(zmq_curve_public(derived, a.secret_z85), 0);
    assert_string_equal(derived, a.public_z85);
}

static void
test_curve_key_check_wants_40_z85_characters(void **state)
{
    (void)state;
    char key[64];
    assert_int_equal(et_curve_key_check(s_kp.public_z85), 0);
    assert_int_equal(et_curve_key_check(NULL), -1);
    assert_int_equal(et_curve_key_check(""), -1);
    snprintf(key, sizeof key, "%.39s", s_kp.public_z85);
    assert_int_equal(et_curve_key_check(key), -1);
    snprintf(key, sizeof key, "%sA", s_kp.public_z85);
    assert_int_equal(et_curve_key_check(key), -1);
    /* Characters outside the Z85 alphabet. */
    const char bad[] = {' ', '~', '"', '\'', ',', ';', '\\', '_', '`', '|'};
    for (size_t i = 0; i < sizeof bad; i++) {
        snprintf(key, sizeof key, "%s", s_kp.public_z85);
        key[17] = bad[i];
        if (et_curve_key_check(key) == 0)
            fail_msg("accepted a key with '%c'", bad[i]);
    }
    /* Z85 groups above 2^32 do not decode. */
    assert_int_equal(
        et_curve_key_check("########################################"), -1);
}

// ---------------------------------------------------------------------------
// Parsing

static void
test_curve_parse_accepts_a_key_file_with_comments(void **state)
{
    (void)state;
    char text[512];
    s_key_text(text, sizeof text, &s_kp);
    et_curve_keypair_t kp;
    char why[256] = "";
    assert_int_equal(
        et_curve_parse(text, strlen(text), 1, &kp, why, sizeof why), 0);
    assert_string_equal(kp.public_z85, s_kp.public_z85);
    assert_string_equal(kp.secret_z85, s_kp.secret_z85);
    /* No final newline is fine too. */
    snprintf(text, sizeof text, "public=%s", s_kp.public_z85);
    assert_int_equal(
        et_curve_parse(text, strlen(text), 0, &kp, why, sizeof why), 0);
    assert_string_equal(kp.public_z85, s_kp.public_z85);
    assert_string_equal(kp.secret_z85, "");
}

static void
test_curve_parse_refuses_malformed_files(void **state)
{
    (void)state;
    et_curve_keypair_t other;
    assert_int_equal(et_curve_keypair_generate(&other), 0);
    const char *P = s_kp.public_z85, *S = s_kp.secret_z85;
    char cases[16][512];
    int want_secret[16];
    const char *why_has[16];
    int n = 0;
#define CASE(ws, has, ...)                                                     \
    do {                                                                       \
        snprintf(cases[n], sizeof cases[n], __VA_ARGS__);                      \
        want_secret[n] = (ws);                                                 \
        why_has[n++] = (has);                                                  \
    } while (0)
    CASE(1, "no public", "secret=%s\n", S);
    CASE(1, "no secret", "public=%s\n", P);
    CASE(0, "must not hold a secret", "public=%s\nsecret=%s\n", P, S);
    CASE(1, "twice", "public=%s\npublic=%s\nsecret=%s\n", P, P, S);
    CASE(1, "41 characters", "public=%s\r\nsecret=%s\n", P, S);
    CASE(1, "39 characters", "public=%.39s\nsecret=%s\n", P, S);
    CASE(1, "expected public=KEY", "public = %s\nsecret=%s\n", P, S);
    CASE(1, "expected public=KEY", "Public=%s\nsecret=%s\n", P, S);
    CASE(1, "expected public=KEY", " public=%s\nsecret=%s\n", P, S);
    CASE(1, "expected public=KEY", "public=%s\nsecret=%s\nextra=1\n", P, S);
    CASE(1, "not the secret key's", "public=%s\nsecret=%s\n", other.public_z85,
         S);
    CASE(0, "no public", "# only a comment\n");
    CASE(0, "no public", "%s", "");
    CASE(0, "0 characters", "public=\n");
#undef CASE
    for (int i = 0; i < n; i++) {
        et_curve_keypair_t kp;
        char why[256] = "";
        if (et_curve_parse(cases[i], strlen(cases[i]), want_secret[i], &kp, why,
                           sizeof why) == 0)
            fail_msg("case %d accepted: %s", i, cases[i]);
        if (!strstr(why, why_has[i]))
            fail_msg("case %d: reason '%s' lacks '%s'", i, why, why_has[i]);
        /* A refused file leaves no key material behind. */
        assert_string_equal(kp.secret_z85, "");
        assert_string_equal(kp.public_z85, "");
    }
    /* A NUL byte, and text larger than the bound. */
    char text[512];
    et_curve_keypair_t kp;
    char why[256];
    int len = snprintf(text, sizeof text, "public=%s\n", P);
    text[3] = '\0';
    assert_int_equal(et_curve_parse(text, (size_t)len, 0, &kp, why, sizeof why),
                     -1);
    assert_non_null(strstr(why, "NUL"));
    char *big = malloc(ET_CURVE_FILE_MAX + 2);
    assert_non_null(big);
    memset(big, '#', ET_CURVE_FILE_MAX + 1);
    assert_int_equal(
        et_curve_parse(big, ET_CURVE_FILE_MAX + 1, 0, &kp, why, sizeof why),
        -1);
    assert_non_null(strstr(why, "larger"));
    free(big);
}

// ---------------------------------------------------------------------------
// Files and permissions

static void
test_curve_load_refuses_secret_files_readable_by_others(void **state)
{
    (void)state;
    char text[512], why[512];
    et_curve_keypair_t kp;
    s_key_text(text, sizeof text, &s_kp);
    const mode_t refused[] = {0644, 0640, 0604, 0660, 0602, 0610, 0601};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        const char *path = s_write("perm.key", text, refused[i]);
        if (et_curve_keypair_load(path, &kp, why, sizeof why) == 0)
            fail_msg("mode %04o accepted", (unsigned)refused[i]);
        assert_non_null(strstr(why, "chmod 600"));
        assert_non_null(strstr(why, path));
    }
    const char *path = s_write("perm.key", text, 0600);
    assert_int_equal(et_curve_keypair_load(path, &kp, why, sizeof why), 0);
    assert_string_equal(kp.secret_z85, s_kp.secret_z85);
    path = s_write("perm.key", text, 0400);
    assert_int_equal(et_curve_keypair_load(path, &kp, why, sizeof why), 0);
}

static void
test_curve_load_refuses_odd_files(void **state)
{
    (void)state;
    char why[512], path[PATH_MAX], key[ET_CURVE_KEY_LEN + 1];
    et_curve_keypair_t kp;
    /* Missing, a directory, a world-writable public key, too large. */
    snprintf(path, sizeof path, "%s/missing.key", s_tmp);
    assert_int_equal(et_curve_keypair_load(path, &kp, why, sizeof why), -1);
    assert_non_null(strstr(why, "No such file"));
    assert_int_equal(et_curve_keypair_load(s_tmp, &kp, why, sizeof why), -1);
    assert_non_null(strstr(why, "not a regular file"));
    char text[128];
    snprintf(text, sizeof text, "public=%s\n", s_kp.public_z85);
    const char *p = s_write("loose.pub", text, 0666);
    assert_int_equal(et_curve_public_load(p, key, why, sizeof why), -1);
    assert_non_null(strstr(why, "chmod 644"));
    p = s_write("loose.pub", text, 0644);
    assert_int_equal(et_curve_public_load(p, key, why, sizeof why), 0);
    assert_string_equal(key, s_kp.public_z85);
    char *big = calloc(1, ET_CURVE_FILE_MAX + 64);
    assert_non_null(big);
    memset(big, '#', ET_CURVE_FILE_MAX + 10);
    p = s_write("big.pub", big, 0644);
    free(big);
    assert_int_equal(et_curve_public_load(p, key, why, sizeof why), -1);
    assert_non_null(strstr(why, "larger"));
}

static void
test_curve_save_writes_modes_and_refuses_overwrite(void **state)
{
    (void)state;
    char path[PATH_MAX], why[512];
    snprintf(path, sizeof path, "%s/saved.key", s_tmp);
    unlink(path);
    mode_t old = umask(0);
    assert_int_equal(et_curve_keypair_save(path, &s_kp, 0, why, sizeof why), 0);
    umask(old);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    et_curve_keypair_t kp;
    assert_int_equal(et_curve_keypair_load(path, &kp, why, sizeof why), 0);
    assert_string_equal(kp.public_z85, s_kp.public_z85);
    assert_int_equal(et_curve_keypair_save(path, &s_kp, 0, why, sizeof why),
                     -1);
    assert_int_equal(errno, EEXIST);
    assert_non_null(strstr(why, "--force"));
    assert_int_equal(et_curve_keypair_save(path, &s_kp, 1, why, sizeof why), 0);
    /* A public-only keypair is written as a .pub, mode 0644. */
    et_curve_keypair_t pub;
    memset(&pub, 0, sizeof pub);
    memcpy(pub.public_z85, s_kp.public_z85, sizeof pub.public_z85);
    snprintf(path, sizeof path, "%s/saved.pub", s_tmp);
    unlink(path);
    assert_int_equal(et_curve_keypair_save(path, &pub, 0, why, sizeof why), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777 & ~0022, 0644 & ~0022);
    char key[ET_CURVE_KEY_LEN + 1];
    assert_int_equal(et_curve_public_load(path, key, why, sizeof why), 0);
    assert_string_equal(key, s_kp.public_z85);
}

static void
test_curve_keys_create_makes_a_usable_directory(void **state)
{
    (void)state;
    char dir[512], why[512];
    snprintf(dir, sizeof dir, "%s/keys", s_tmp);
    assert_int_equal(et_curve_keys_create(dir, 0, why, sizeof why), 0);
    struct stat st;
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 077, 0);
    et_curve_t *both =
        et_curve_new(dir, ET_CURVE_CLIENT | ET_CURVE_SERVER, why, sizeof why);
    if (!both)
        fail_msg("%s", why);
    et_curve_destroy(&both);
    assert_null(both);
    /* A second time refuses, naming the first file; --force replaces. */
    assert_int_equal(et_curve_keys_create(dir, 0, why, sizeof why), -1);
    assert_non_null(strstr(why, "server.key exists"));
    assert_int_equal(et_curve_keys_create(dir, 1, why, sizeof why), 0);
}

// ---------------------------------------------------------------------------
// The authorized set

static void
s_mkdir_pub(const char *dir, const char *name, const char *public_z85)
{
    char path[PATH_MAX], text[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(text, sizeof text, "public=%s\n", public_z85);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
}

static void
test_curve_authset_loads_pub_files_only(void **state)
{
    (void)state;
    char dir[512], why[512];
    snprintf(dir, sizeof dir, "%s/auth1", s_tmp);
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(chmod(dir, 0755), 0);
    et_curve_keypair_t a, b, c;
    assert_int_equal(et_curve_keypair_generate(&a), 0);
    assert_int_equal(et_curve_keypair_generate(&b), 0);
    assert_int_equal(et_curve_keypair_generate(&c), 0);
    s_mkdir_pub(dir, "alice.pub", a.public_z85);
    s_mkdir_pub(dir, "bob.pub", b.public_z85);
    s_mkdir_pub(dir, "README", "not a key");
    s_mkdir_pub(dir, ".hidden.pub", c.public_z85);
    et_curve_authset_t *set = et_curve_authset_load(dir, why, sizeof why);
    if (!set)
        fail_msg("%s", why);
    assert_int_equal(et_curve_authset_size(set), 2);
    uint8_t key[ET_CURVE_KEY_BYTES];
    assert_non_null(zmq_z85_decode(key, a.public_z85));
    assert_string_equal(et_curve_authset_find(set, key), "alice");
    assert_non_null(zmq_z85_decode(key, b.public_z85));
    assert_string_equal(et_curve_authset_find(set, key), "bob");
    assert_non_null(zmq_z85_decode(key, c.public_z85));
    assert_null(et_curve_authset_find(set, key));
    et_curve_authset_destroy(&set);
    assert_null(set);

    /* A malformed .pub, a bad name, a group-writable directory and an
     * empty one are refused. */
    s_mkdir_pub(dir, "carol.pub", "public=tooshort");
    assert_null(et_curve_authset_load(dir, why, sizeof why));
    assert_non_null(strstr(why, "carol.pub"));
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/carol.pub", dir);
    assert_int_equal(unlink(path), 0);
    s_mkdir_pub(dir, "bad name.pub", c.public_z85);
    assert_null(et_curve_authset_load(dir, why, sizeof why));
    assert_non_null(strstr(why, "bad name.pub"));
    snprintf(path, sizeof path, "%s/bad name.pub", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(chmod(dir, 0775), 0);
    assert_null(et_curve_authset_load(dir, why, sizeof why));
    assert_non_null(strstr(why, "chmod 755"));
    char empty[PATH_MAX];
    snprintf(empty, sizeof empty, "%s/auth-empty", s_tmp);
    assert_int_equal(mkdir(empty, 0755), 0);
    assert_int_equal(chmod(empty, 0755), 0);
    assert_null(et_curve_authset_load(empty, why, sizeof why));
    assert_non_null(strstr(why, "no client could connect"));
}

static void
test_curve_authset_add_is_bounded_and_deduplicates(void **state)
{
    (void)state;
    et_curve_authset_t *set = et_curve_authset_new();
    assert_non_null(set);
    assert_int_equal(et_curve_authset_add(set, s_kp.public_z85, "one"), 0);
    assert_int_equal(et_curve_authset_add(set, s_kp.public_z85, "again"), 0);
    assert_int_equal(et_curve_authset_size(set), 1);
    uint8_t key[ET_CURVE_KEY_BYTES];
    assert_non_null(zmq_z85_decode(key, s_kp.public_z85));
    assert_string_equal(et_curve_authset_find(set, key), "one");
    assert_int_equal(et_curve_authset_add(set, "short", "x"), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(et_curve_authset_add(set, s_kp.public_z85, "a/b"), -1);
    assert_int_equal(errno, EINVAL);
    while (et_curve_authset_size(set) < ET_CURVE_AUTHORIZED_MAX) {
        et_curve_keypair_t kp;
        assert_int_equal(et_curve_keypair_generate(&kp), 0);
        assert_int_equal(et_curve_authset_add(set, kp.public_z85, "k"), 0);
    }
    et_curve_keypair_t extra;
    assert_int_equal(et_curve_keypair_generate(&extra), 0);
    assert_int_equal(et_curve_authset_add(set, extra.public_z85, "k"), -1);
    assert_int_equal(errno, ENOSPC);
    et_curve_authset_destroy(&set);
}

// ---------------------------------------------------------------------------
// The ZAP decision

typedef struct {
    et_curve_frame_t f[8];
    size_t n;
} s_request_t;

static void
s_request(s_request_t *r, const char *version, const char *domain,
          const char *mechanism, const void *key, size_t key_len)
{
    const char *texts[6] = {version, "1", domain, "127.0.0.1", "", mechanism};
    for (int i = 0; i < 6; i++)
        r->f[i] = (et_curve_frame_t){texts[i], strlen(texts[i])};
    r->f[6] = (et_curve_frame_t){key, key_len};
    r->n = 7;
}

static void
test_curve_zap_admits_only_listed_keys(void **state)
{
    (void)state;
    et_curve_authset_t *set = et_curve_authset_new();
    assert_int_equal(et_curve_authset_add(set, s_kp.public_z85, "client"), 0);
    uint8_t good[32], bad[32];
    assert_non_null(zmq_z85_decode(good, s_kp.public_z85));
    memcpy(bad, good, 32);
    bad[31] ^= 1;
    s_request_t r;
    et_curve_decision_t d;

    s_request(&r, "1.0", "eventide", "CURVE", good, 32);
    et_curve_zap_decide(set, r.f, r.n, &d);
    assert_int_equal(d.status, 200);
    assert_string_equal(d.text, "OK");
    assert_string_equal(d.user_id, "client");

    static const struct {
        const char *version, *domain, *mechanism;
        int good_key;
        size_t key_len, n;
        const char *text;
    } refused[] = {
        {"1.0", "eventide", "CURVE", 0, 32, 7, "unknown key"},
        {"1.0", "other", "CURVE", 1, 32, 7, "wrong domain"},
        {"1.0", "", "CURVE", 1, 32, 7, "wrong domain"},
        {"1.0", "eventidex", "CURVE", 1, 32, 7, "wrong domain"},
        {"1.0", "eventide", "PLAIN", 1, 32, 7, "mechanism not allowed"},
        {"1.0", "eventide", "NULL", 1, 32, 7, "mechanism not allowed"},
        {"2.0", "eventide", "CURVE", 1, 32, 7, "malformed request"},
        {"1.0", "eventide", "CURVE", 1, 31, 7, "bad credentials"},
        {"1.0", "eventide", "CURVE", 1, 32, 6, "bad credentials"},
        {"1.0", "eventide", "CURVE", 1, 32, 5, "malformed request"},
        {"1.0", "eventide", "CURVE", 1, 32, 0, "malformed request"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        s_request(&r, refused[i].version, refused[i].domain,
                  refused[i].mechanism, refused[i].good_key ? good : bad,
                  refused[i].key_len);
        et_curve_zap_decide(set, r.f, refused[i].n, &d);
        if (d.status != 400 || strcmp(d.text, refused[i].text) != 0)
            fail_msg("case %zu: %d %s, want 400 %s", i, d.status, d.text,
                     refused[i].text);
        assert_string_equal(d.user_id, "");
    }
    /* An extra credentials frame, and no set at all. */
    s_request(&r, "1.0", "eventide", "CURVE", good, 32);
    r.f[7] = r.f[6];
    et_curve_zap_decide(set, r.f, 8, &d);
    assert_int_equal(d.status, 400);
    et_curve_zap_decide(NULL, r.f, 7, &d);
    assert_int_equal(d.status, 400);
    assert_string_equal(d.text, "unknown key");
    et_curve_zap_decide(set, NULL, 0, &d);
    assert_int_equal(d.status, 400);
    et_curve_authset_destroy(&set);
}

// ---------------------------------------------------------------------------
// A real link

/* Receive one message on 'sock' within 'ms'; 1 when something came. */
static int
s_got_message(void *sock, long ms)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, ms) <= 0)
        return 0;
    char buf[64];
    while (zmq_recv(sock, buf, sizeof buf, ZMQ_DONTWAIT) >= 0) {
        int more = 0;
        size_t len = sizeof more;
        zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len);
        if (!more)
            break;
    }
    return 1;
}

static void
test_curve_link_admits_authorized_and_refuses_unknown_client(void **state)
{
    (void)state;
    char good_dir[512], bad_dir[512], why[512], path[PATH_MAX];
    snprintf(good_dir, sizeof good_dir, "%s/link-good", s_tmp);
    snprintf(bad_dir, sizeof bad_dir, "%s/link-bad", s_tmp);
    assert_int_equal(et_curve_keys_create(good_dir, 0, why, sizeof why), 0);
    assert_int_equal(et_curve_keys_create(bad_dir, 0, why, sizeof why), 0);
    /* The intruder knows the server's public key, not an admitted key:
     * without server.pub its own server.key would be used, so copy it. */
    char pub[ET_CURVE_KEY_LEN + 1];
    snprintf(path, sizeof path, "%s/server.pub", good_dir);
    assert_int_equal(et_curve_public_load(path, pub, why, sizeof why), 0);
    et_curve_keypair_t server_pub;
    memset(&server_pub, 0, sizeof server_pub);
    memcpy(server_pub.public_z85, pub, sizeof pub);
    snprintf(path, sizeof path, "%s/server.pub", bad_dir);
    assert_int_equal(
        et_curve_keypair_save(path, &server_pub, 1, why, sizeof why), 0);

    et_curve_t *server =
        et_curve_new(good_dir, ET_CURVE_SERVER, why, sizeof why);
    et_curve_t *good = et_curve_new(good_dir, ET_CURVE_CLIENT, why, sizeof why);
    et_curve_t *bad = et_curve_new(bad_dir, ET_CURVE_CLIENT, why, sizeof why);
    assert_non_null(server);
    assert_non_null(good);
    assert_non_null(bad);

    void *ctx = zmq_ctx_new();
    void *pull = et_zsock_new(ctx, ZMQ_PULL, 100);
    /* A CURVE server socket without its ZAP handler is refused. */
    assert_int_equal(et_curve_bind(server, pull, "tcp://127.0.0.1:*"), -1);
    assert_int_equal(et_curve_zap_start(server, ctx), 0);
    assert_int_equal(et_curve_bind(server, pull, "tcp://127.0.0.1:*"), 0);
    char endpoint[256];
    assert_int_equal(et_zsock_last_endpoint(pull, endpoint, sizeof endpoint),
                     0);
    assert_non_null(strstr(endpoint, "tcp://127.0.0.1:"));
    assert_null(strchr(endpoint, '*'));

    void *ctx2 = zmq_ctx_new();
    void *intruder = et_zsock_new(ctx2, ZMQ_PUSH, 100);
    assert_int_equal(et_curve_connect(bad, intruder, endpoint), 0);
    /* A plain client without CURVE gets nothing through either. */
    void *plain = et_zsock_new(ctx2, ZMQ_PUSH, 100);
    assert_int_equal(et_zsock_connect(plain, endpoint), 0);
    assert_int_equal(s_got_message(pull, 1000), 0);
    /* IMMEDIATE: no pipe ever came up for them, so nothing can be sent. */
    assert_int_equal(zmq_send(intruder, "evil", 4, ZMQ_DONTWAIT), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(zmq_send(plain, "evil", 4, ZMQ_DONTWAIT), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(et_curve_refused(server), 1);

    void *friend = et_zsock_new(ctx2, ZMQ_PUSH, 100);
    assert_int_equal(et_curve_connect(good, friend, endpoint), 0);
    int sent = -1;
    for (int i = 0; i < 200 && sent < 0; i++) {
        sent = zmq_send(friend, "hello", 5, ZMQ_DONTWAIT);
        if (sent < 0)
            usleep(10000);
    }
    assert_int_equal(sent, 5);
    assert_int_equal(s_got_message(pull, 2000), 1);
    assert_true(et_curve_refused(server) >= 1);

    et_zsock_close(&friend);
    et_zsock_close(&plain);
    et_zsock_close(&intruder);
    assert_int_equal(zmq_ctx_term(ctx2), 0);
    et_zsock_close(&pull);
    assert_int_equal(zmq_ctx_term(ctx), 0); /* the ZAP thread ends here */
    et_curve_destroy(&server);
    et_curve_destroy(&good);
    et_curve_destroy(&bad);
}

static void
test_curve_new_falls_back_to_server_key_and_reports_missing_keys(void **state)
{
    (void)state;
    char dir[512], why[512], path[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/fallback", s_tmp);
    assert_int_equal(et_curve_keys_create(dir, 0, why, sizeof why), 0);
    snprintf(path, sizeof path, "%s/server.pub", dir);
    assert_int_equal(unlink(path), 0);
    et_curve_t *c = et_curve_new(dir, ET_CURVE_CLIENT, why, sizeof why);
    if (!c)
        fail_msg("%s", why);
    et_curve_destroy(&c);
    snprintf(path, sizeof path, "%s/server.key", dir);
    assert_int_equal(unlink(path), 0);
    assert_null(et_curve_new(dir, ET_CURVE_CLIENT, why, sizeof why));
    assert_non_null(strstr(why, "server.pub"));
    assert_null(et_curve_new(dir, ET_CURVE_SERVER, why, sizeof why));
    assert_non_null(strstr(why, "server.key"));
    snprintf(path, sizeof path, "%s/client.key", dir);
    assert_int_equal(chmod(path, 0644), 0);
    assert_null(et_curve_new(dir, ET_CURVE_CLIENT, why, sizeof why));
    assert_non_null(strstr(why, "chmod 600"));
    /* Roles 0: nothing loaded, and plain sockets stay plain. */
    c = et_curve_new(dir, 0, why, sizeof why);
    assert_non_null(c);
    assert_int_equal(et_curve_is_tcp("tcp://127.0.0.1:1"), 1);
    assert_int_equal(et_curve_is_tcp("ipc:///tmp/x"), 0);
    et_curve_destroy(&c);
    assert_null(et_curve_new("/nonexistent/keys", 0, why, sizeof why));
    assert_int_equal(et_curve_check_dir(path, why, sizeof why), -1);
    assert_non_null(strstr(why, "not a directory"));
}

static void
test_zsock_endpoints_file_has_every_line(void **state)
{
    (void)state;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/endpoints", s_tmp);
    const char *const names[] = {"FRONTEND", "STATS"};
    const char *const endpoints[] = {"tcp://127.0.0.1:5000",
                                     "tcp://127.0.0.1:5001"};
    assert_int_equal(et_zsock_write_endpoints(path, names, endpoints, 2), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char text[256] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_string_equal(text, "FRONTEND=tcp://127.0.0.1:5000\n"
                              "STATS=tcp://127.0.0.1:5001\n");
}

int
main(void)
{
    et_log_init("test", ET_LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curve_generated_keys_are_valid_and_differ),
        cmocka_unit_test(test_curve_key_check_wants_40_z85_characters),
        cmocka_unit_test(test_curve_parse_accepts_a_key_file_with_comments),
        cmocka_unit_test(test_curve_parse_refuses_malformed_files),
        cmocka_unit_test(
            test_curve_load_refuses_secret_files_readable_by_others),
        cmocka_unit_test(test_curve_load_refuses_odd_files),
        cmocka_unit_test(test_curve_save_writes_modes_and_refuses_overwrite),
        cmocka_unit_test(test_curve_keys_create_makes_a_usable_directory),
        cmocka_unit_test(test_curve_authset_loads_pub_files_only),
        cmocka_unit_test(test_curve_authset_add_is_bounded_and_deduplicates),
        cmocka_unit_test(test_curve_zap_admits_only_listed_keys),
        cmocka_unit_test(
            test_curve_link_admits_authorized_and_refuses_unknown_client),
        cmocka_unit_test(
            test_curve_new_falls_back_to_server_key_and_reports_missing_keys),
        cmocka_unit_test(test_zsock_endpoints_file_has_every_line),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
