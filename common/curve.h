/* CURVE security for TCP links: Z85 key files in a key directory, the set
 * of client keys a server admits (authorized/NAME.pub), a ZAP handler (RFC 27)
 * thread for binding processes, and bind/connect helpers that put CURVE on
 * tcp:// endpoints only (ipc:// and inproc:// stay local and plain).
 *
 * Key directory:
 *   server.key          public + secret key of the binding side (broker,
 *                       collector); mode 0600
 *   server.pub          the server's public key, for clients (a client
 *                       without it falls back to server.key's public line)
 *   client.key          public + secret key of connecting processes; 0600
 *   authorized/NAME.pub the client keys the servers admit, one per file
 * Key files are text: optional '#' comment lines, then "public=Z85" and
 * (secret files only) "secret=Z85" lines, each key exactly 40 Z85
 * characters. */
#ifndef ET_CURVE_H
#define ET_CURVE_H

#include <stddef.h>
#include <stdint.h>

#define ET_CURVE_KEY_LEN 40   /* Z85 characters of a 32-byte key */
#define ET_CURVE_KEY_BYTES 32 /* binary key */
#define ET_CURVE_DOMAIN "eventide"
#define ET_CURVE_FILE_MAX 4096       /* largest key file read */
#define ET_CURVE_AUTHORIZED_MAX 1024 /* keys in authorized/ */
#define ET_CURVE_NAME_MAX 64         /* a key's name (file name less .pub) */
#define ET_CURVE_ZAP_ENDPOINT "inproc://zeromq.zap.01"

typedef struct {
    char public_z85[ET_CURVE_KEY_LEN + 1];
    char secret_z85[ET_CURVE_KEY_LEN + 1]; /* "" when only public */
} et_curve_keypair_t;

/* 0 when 'z85' is exactly 40 characters of the Z85 alphabet that decode
 * to 32 bytes, else -1. */
int et_curve_key_check(const char *z85);

/* New random keypair (zmq_curve_keypair). 0, or -1 with errno (ENOTSUP:
 * libzmq built without CURVE). */
int et_curve_keypair_generate(et_curve_keypair_t *kp);

/* Parse a key file's text ('len' bytes, NUL not needed). 'want_secret': 1
 * for a .key file (public and secret lines required, the public key must
 * be the secret key's), 0 for a .pub file (public only; a secret line is
 * an error). Returns 0, or -1 with the reason in 'why'. */
int et_curve_parse(const char *text, size_t len, int want_secret,
                   et_curve_keypair_t *kp, char *why, size_t why_size);

/* Read and parse a secret key file. Refuses anything but a regular file,
 * files larger than ET_CURVE_FILE_MAX, and files with any group or other
 * permission bit (chmod 600). 0, or -1 with the reason in 'why'. */
int et_curve_keypair_load(const char *path, et_curve_keypair_t *kp, char *why,
                          size_t why_size);

/* Read and parse a public key file (.pub). Refuses files writable by group
 * or others. 0, or -1 with the reason in 'why'. */
int et_curve_public_load(const char *path,
                         char public_z85[ET_CURVE_KEY_LEN + 1], char *why,
                         size_t why_size);

/* Write a secret key file (mode 0600) or, when kp->secret_z85 is empty, a
 * public key file (mode 0644). An existing file is an error (EEXIST)
 * unless 'force'. 0, or -1 with the reason in 'why'. */
int et_curve_keypair_save(const char *path, const et_curve_keypair_t *kp,
                          int force, char *why, size_t why_size);

/* Create a key directory: DIR (mode 0700) with server.key, server.pub,
 * client.key and authorized/client.pub. Refuses to overwrite any of them
 * unless 'force'. 0, or -1 with the reason in 'why'. */
int et_curve_keys_create(const char *dir, int force, char *why,
                         size_t why_size);

/* ---- the authorized set ---------------------------------------------- */

typedef struct et_curve_authset_t et_curve_authset_t;

/* New empty set, or NULL (ENOMEM). */
et_curve_authset_t *et_curve_authset_new(void);

/* Add a Z85 public key under 'name'. A key already present is kept with
 * its first name. 0, or -1 with errno EINVAL (bad key or name) or ENOSPC
 * (ET_CURVE_AUTHORIZED_MAX reached). */
int et_curve_authset_add(et_curve_authset_t *self, const char *public_z85,
                         const char *name);

/* Load every DIR/NAME.pub (NAME from [A-Za-z0-9_.-], not starting with
 * '.'; other files are ignored). Refuses a directory writable by group or
 * others, a malformed .pub file and an empty set. Returns the set, or NULL
 * with the reason in 'why'. */
et_curve_authset_t *et_curve_authset_load(const char *dir, char *why,
                                          size_t why_size);

size_t et_curve_authset_size(const et_curve_authset_t *self);

/* The name of binary key 'key' (32 bytes) if admitted, else NULL. */
const char *et_curve_authset_find(const et_curve_authset_t *self,
                                  const uint8_t *key);

void et_curve_authset_destroy(et_curve_authset_t **self_p);

/* ---- the ZAP decision (a pure function) ------------------------------ */

typedef struct {
    const void *data;
    size_t size;
} et_curve_frame_t;

typedef struct {
    int status;          /* 200 admitted, 400 refused */
    const char *text;    /* "OK", "unknown key", ... (static) */
    const char *user_id; /* on 200: the key's name; else "" */
} et_curve_decision_t;

/* Decide a ZAP request (RFC 27 frames after the REP envelope: version,
 * request id, domain, address, identity, mechanism, credentials...).
 * Admits only version "1.0", domain ET_CURVE_DOMAIN, mechanism "CURVE" and
 * a 32-byte client key in 'authorized'. */
void et_curve_zap_decide(const et_curve_authset_t *authorized,
                         const et_curve_frame_t *request, size_t n_frames,
                         et_curve_decision_t *decision);

/* ---- one process's CURVE setup ----------------------------------------- */

/* Roles a process plays on tcp:// links. */
#define ET_CURVE_CLIENT 1 /* connects: needs client.key and the server key */
#define ET_CURVE_SERVER 2 /* binds: needs server.key and authorized/ */

typedef struct et_curve_t et_curve_t;

/* 1 when 'endpoint' is a tcp:// endpoint (the only kind CURVE secures),
 * else 0. */
int et_curve_is_tcp(const char *endpoint);

/* Check a --curve value: an existing directory whose path leaves room for
 * the key files' names. 0, or -1 with the reason in 'why'. */
int et_curve_check_dir(const char *dir, char *why, size_t why_size);

/* The option-table parser (common/opts.h et_opt_parse_fn) of every
 * binary's --curve DIR: et_curve_check_dir, then DIR copied into
 * char dest[PATH_MAX]. */
int et_curve_opt_dir(const char *value, void *dest, char *why, size_t why_size);

/* Load the keys that 'roles' need from 'dir'. roles == 0 loads nothing
 * (every endpoint is local). Returns NULL with the reason in 'why'. */
et_curve_t *et_curve_new(const char *dir, int roles, char *why,
                         size_t why_size);

/* Start the ZAP handler thread in 'ctx' (binds ET_CURVE_ZAP_ENDPOINT now,
 * so it is in place before any server socket binds). Server role only.
 * The thread ends when et_curve_destroy is called or 'ctx' terminates;
 * destroy after closing every server socket: libzmq admits every client
 * of a CURVE server whose context has no ZAP handler. 0, or -1 (logged). */
int et_curve_zap_start(et_curve_t *self, void *ctx);

/* Bind or connect 'sock', with CURVE first when 'self' is not NULL and
 * 'endpoint' is tcp:// (server: CURVE_SERVER, secret key, ZAP domain;
 * client: server key, own public and secret key). With 'self' NULL these
 * are et_zsock_bind and et_zsock_connect. 0, or -1 (logged). */
int et_curve_bind(et_curve_t *self, void *sock, const char *endpoint);
int et_curve_connect(et_curve_t *self, void *sock, const char *endpoint);

/* Handshakes the ZAP handler refused so far (thread-safe). */
uint64_t et_curve_refused(const et_curve_t *self);

/* Stop the ZAP handler (if any), free, set *self_p to NULL. */
void et_curve_destroy(et_curve_t **self_p);

#endif
