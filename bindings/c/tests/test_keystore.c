/* The C suite of kt_ffi: the happy paths and the misuse a C caller can commit (NULL everywhere,
 * invalid UTF-8, a failing callback, a too-long passphrase, a panic inside Rust). Built with
 * -std=c11 -Wall -Wextra -Werror against the static and the shared library, and run plain, under
 * valgrind and under AddressSanitizer by ../run-tests.sh. Single exit path per test: every handle
 * is freed, so valgrind's leak check is meaningful. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "kt_ffi.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                              \
    do {                                                                         \
        checks++;                                                                \
        if (!(cond)) {                                                           \
            failures++;                                                          \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

#define CHECK_STATUS(call, want)                                                 \
    do {                                                                         \
        kt_status got_ = (call);                                                 \
        checks++;                                                                \
        if (got_ != (want)) {                                                    \
            failures++;                                                          \
            fprintf(stderr, "%s:%d: %s returned %d (%s), want %d\n", __FILE__,   \
                    __LINE__, #call, (int)got_, kt_status_str(got_), (int)(want)); \
        }                                                                        \
    } while (0)

/* Whether OpenSSL (an independent verifier) accepts the raw r||s `sig` over `msg` for the DER
 * SPKI `spki`. Signatures are randomized (hedged nonces), so this, not byte equality, is the test. */
static int openssl_verifies(const uint8_t *spki, size_t spki_len, const uint8_t *msg, size_t len,
                            const uint8_t sig[KT_SIGNATURE_LEN]) {
    const unsigned char *p = spki;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)spki_len);
    ECDSA_SIG *ecsig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL);
    BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    int der_len = 0, ok = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (pkey && ecsig && r && s && ctx && ECDSA_SIG_set0(ecsig, r, s)) {
        r = s = NULL; /* owned by ecsig now */
        der_len = i2d_ECDSA_SIG(ecsig, &der);
        ok = der_len > 0 && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
             EVP_DigestVerify(ctx, der, (size_t)der_len, msg, len) == 1;
    }
    OPENSSL_free(der);
    EVP_MD_CTX_free(ctx);
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(ecsig);
    EVP_PKEY_free(pkey);
    return ok;
}

static const char CANARY[] = "c-canary-passphrase-7Hq";

/* What the test callback answers, and what it saw. */
struct answer {
    const char *passphrase; /* NULL: answer KT_STATUS_PASSPHRASE_REQUIRED */
    const char *new_passphrase; /* for is_new requests; NULL: same as passphrase */
    int32_t fail_with;      /* non-zero: return this */
    size_t claim_len;       /* non-zero: claim this length (too long) */
    int calls;
    int new_calls;
    unsigned last_attempt;
    char role[64];
    char gun[128];
    int saw_key_id;
};

static int32_t answer_cb(void *user_data, const kt_passphrase_request *req, uint8_t *buf,
                         size_t buf_len, size_t *len_out) {
    struct answer *a = user_data;
    a->calls++;
    a->last_attempt = kt_passphrase_request_attempt(req);
    bool is_new = kt_passphrase_request_is_new(req);
    if (is_new) a->new_calls++;
    snprintf(a->role, sizeof a->role, "%s", kt_passphrase_request_role(req));
    const char *gun = kt_passphrase_request_gun(req);
    snprintf(a->gun, sizeof a->gun, "%s", gun ? gun : "");
    const char *id = kt_passphrase_request_key_id(req);
    a->saw_key_id = id != NULL && strlen(id) == 64;
    if (a->fail_with) return a->fail_with;
    if (a->claim_len) {
        *len_out = a->claim_len;
        return KT_STATUS_OK;
    }
    const char *p = is_new && a->new_passphrase ? a->new_passphrase : a->passphrase;
    if (!p) return KT_STATUS_PASSPHRASE_REQUIRED;
    size_t n = strlen(p);
    if (n > buf_len) return KT_STATUS_CANCELLED;
    memcpy(buf, p, n);
    *len_out = n;
    return KT_STATUS_OK;
}

/* The message of a failure, checked for the canary, then freed. */
static void expect_error(kt_error *err, kt_status want, const char *needle, int line) {
    checks++;
    if (err == NULL) {
        failures++;
        fprintf(stderr, "line %d: no kt_error\n", line);
        return;
    }
    const char *msg = kt_error_message(err);
    if (kt_error_code(err) != want || msg == NULL || (needle && !strstr(msg, needle)) ||
        strstr(msg, CANARY)) {
        failures++;
        fprintf(stderr, "line %d: error %d \"%s\", want %d containing \"%s\"\n", line,
                (int)kt_error_code(err), msg ? msg : "(null)", (int)want, needle ? needle : "");
    }
    kt_error_free(err);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void test_version_and_status(void) {
    CHECK(kt_version() != NULL && strlen(kt_version()) > 0);
    CHECK(strcmp(kt_status_str(KT_STATUS_OK), "ok") == 0);
    CHECK(strcmp(kt_status_str(KT_STATUS_WRONG_PASSPHRASE), "wrong passphrase") == 0);
    CHECK(strcmp(kt_status_str(12345), "unknown status") == 0);
    CHECK(strcmp(kt_status_str(-1), "unknown status") == 0);
    const int32_t known[] = {0, 1, 2, 10, 11, 12, 13, 20, 21, 22, 30, 31, 32, 33, 40, 41, 42, 90, 99};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        CHECK(strcmp(kt_status_str(known[i]), "unknown status") != 0);
}

static void test_null_everywhere(const char *dir) {
    kt_error *err = NULL;
    kt_keystore *store = NULL;
    char *s = NULL;
    kt_key *key = NULL;
    uint8_t sig[KT_SIGNATURE_LEN];
    uint8_t *spki = NULL;
    size_t len = 0;
    struct answer a = {.passphrase = CANARY};

    CHECK_STATUS(kt_keystore_open(NULL, &store, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "trust_dir", __LINE__);
    err = NULL;
    CHECK(store == NULL);
    CHECK_STATUS(kt_keystore_open(dir, NULL, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_keystore_open("", &store, NULL), KT_STATUS_INVALID_ARGUMENT);
    CHECK(store == NULL);

    CHECK_STATUS(kt_key_generate(NULL, "root", NULL, answer_cb, &a, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_keystore_list_json(NULL, NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_key_load(NULL, "abcd", answer_cb, &a, &key, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_key_sign(NULL, (const uint8_t *)"x", 1, sig, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_key_public_spki(NULL, &spki, &len, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_keystore_sign(NULL, "abcd", NULL, 0, answer_cb, &a, sig, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_keystore_import(NULL, NULL, 0, NULL, NULL, NULL, false, NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_keystore_export(NULL, NULL, 0, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_keystore_passwd(NULL, "abcd", answer_cb, &a, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_repo_status_json(NULL, "example.com/app", NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_repo_rotate(NULL, "example.com/app", "targets", NULL, NULL, false, true, NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_repo_renew(NULL, "example.com/app", "targets", false, 0, "https://127.0.0.1:1", NULL, true, NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_signer_add(NULL, "example.com/app", "alice", NULL, "https://127.0.0.1:1", NULL, NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_signer_remove(NULL, "example.com/app", "alice", false, "https://127.0.0.1:1", NULL, NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_signer_list_json(NULL, "example.com/app", "https://127.0.0.1:1", NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_signer_rotate(NULL, "example.com/app", "alice", "https://127.0.0.1:1", NULL, NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_sign(NULL, "example.com/app", "v1", "sha256:00", 1, NULL, false, NULL, "https://127.0.0.1:1", NULL, NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_unsign(NULL, "example.com/app", "v1", NULL, "https://127.0.0.1:1", NULL, NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_repo_init(NULL, "example.com/app", NULL, NULL, false, NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_repo_status_checked_json(NULL, "example.com/app", NULL, NULL, answer_cb, &a, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_vault_init(NULL, 64, 1, 1, answer_cb, &a, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_vault_status_json(NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_vault_change_master(NULL, 64, 1, 1, answer_cb, &a, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_keystore_export_cosign(NULL, "abcd", "/tmp/cosign.key", false, answer_cb, &a, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_keystore_export_notation(NULL, "abcd", "/tmp/notation", NULL, 0, false, answer_cb, &a, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_repo_migrate_sigstore(NULL, "example.com/app", "abcd", false, NULL, false, false, NULL, "https://127.0.0.1:1", NULL, answer_cb, &a, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK(s == NULL && key == NULL && spki == NULL);

    CHECK_STATUS(kt_keystore_open(dir, &store, &err), KT_STATUS_OK);
    CHECK(err == NULL);
    CHECK_STATUS(kt_key_generate(store, NULL, NULL, answer_cb, &a, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_key_generate(store, "root", NULL, answer_cb, &a, NULL, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "key_id_out", __LINE__);
    err = NULL;
    CHECK(a.calls == 0); /* out-parameters are checked before any work */
    CHECK_STATUS(kt_keystore_list_json(store, NULL, NULL, NULL, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_key_load(store, NULL, answer_cb, &a, &key, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_keystore_sign(store, "abcd", NULL, 5, answer_cb, &a, sig, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_keystore_import(store, NULL, 10, NULL, NULL, NULL, false, NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_keystore_export(store, NULL, 2, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    const char *ids[] = {NULL};
    CHECK_STATUS(kt_keystore_export(store, ids, 1, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_keystore_passwd(store, NULL, answer_cb, &a, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_repo_status_json(store, NULL, NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_repo_rotate(store, "example.com/app", NULL, NULL, NULL, false, true, NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    /* renew needs a server; NULL role means targets, but a NULL output is refused. */
    CHECK_STATUS(kt_repo_renew(store, "example.com/app", NULL, false, 0, "https://127.0.0.1:1", NULL, true, NULL, NULL, NULL, NULL), KT_STATUS_NULL_ARGUMENT);
    /* Every call that cannot do without the server refuses a NULL server_url alike, naming it. */
    CHECK_STATUS(kt_repo_renew(store, "example.com/app", NULL, false, 0, NULL, NULL, true, NULL, NULL, &s, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "server_url", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_signer_add(store, "example.com/app", "alice", NULL, NULL, NULL, answer_cb, &a, &s, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "server_url", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_signer_remove(store, "example.com/app", "alice", false, NULL, NULL, answer_cb, &a, &s, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "server_url", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_signer_list_json(store, "example.com/app", NULL, NULL, &s, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "server_url", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_signer_rotate(store, "example.com/app", "alice", NULL, NULL, answer_cb, &a, &s, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "server_url", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_sign(store, "example.com/app", "v1", "sha256:00", 1, NULL, false, NULL, NULL, NULL, answer_cb, &a, &s, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "server_url", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_unsign(store, "example.com/app", "v1", NULL, NULL, NULL, answer_cb, &a, &s, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "server_url", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_sign(store, "example.com/app", NULL, "sha256:00", 1, NULL, false, NULL, NULL, NULL, NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_signer_add(store, "example.com/app", "alice", NULL, "https://127.0.0.1:1", NULL, answer_cb, &a, NULL, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_repo_init(store, NULL, NULL, NULL, false, NULL, NULL, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_repo_init(store, "example.com/app", NULL, NULL, false, NULL, NULL, NULL, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_repo_status_checked_json(store, NULL, NULL, NULL, answer_cb, &a, &s, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_repo_status_checked_json(store, "example.com/app", NULL, NULL, answer_cb, &a, NULL, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_vault_init(store, 64, 1, 1, answer_cb, &a, NULL, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_vault_status_json(store, NULL, NULL), KT_STATUS_NULL_ARGUMENT);
    /* Leaving content trust: each required argument is named; nothing is asked or written. */
    CHECK_STATUS(kt_keystore_export_cosign(store, NULL, "/tmp/cosign.key", false, answer_cb, &a, &s, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "key_id", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_keystore_export_cosign(store, "abcd", NULL, false, answer_cb, &a, &s, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "output", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_keystore_export_cosign(store, "abcd", "/tmp/cosign.key", false, answer_cb, &a, NULL, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "json_out", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_keystore_export_notation(store, NULL, "/tmp/notation", NULL, 0, false, answer_cb, &a, &s, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "key_id", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_keystore_export_notation(store, "abcd", NULL, NULL, 0, false, answer_cb, &a, &s, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "config_dir", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_keystore_export_notation(store, "abcd", "/tmp/notation", NULL, 0, false, answer_cb, &a, NULL, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK_STATUS(kt_repo_migrate_sigstore(store, NULL, "abcd", false, NULL, false, false, NULL, "https://127.0.0.1:1", NULL, answer_cb, &a, &s, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "gun", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_repo_migrate_sigstore(store, "example.com/app", "abcd", false, NULL, false, false, NULL, NULL, NULL, answer_cb, &a, &s, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "server_url", __LINE__);
    err = NULL;
    /* Neither a key nor generate (and no dry run): the key is the missing argument. */
    CHECK_STATUS(kt_repo_migrate_sigstore(store, "example.com/app", NULL, false, NULL, false, false, NULL, "https://127.0.0.1:1", NULL, answer_cb, &a, &s, &err), KT_STATUS_NULL_ARGUMENT);
    expect_error(err, KT_STATUS_NULL_ARGUMENT, "key_id", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_repo_migrate_sigstore(store, "example.com/app", "abcd", false, NULL, false, false, NULL, "https://127.0.0.1:1", NULL, answer_cb, &a, NULL, NULL), KT_STATUS_NULL_ARGUMENT);
    CHECK(a.calls == 0);
    CHECK(s == NULL && key == NULL);

    /* Accessors and frees accept NULL. */
    CHECK(kt_error_code(NULL) == KT_STATUS_NULL_ARGUMENT);
    CHECK(kt_error_message(NULL) == NULL);
    CHECK(kt_key_id(NULL) == NULL && kt_key_role(NULL) == NULL && kt_key_gun(NULL) == NULL);
    CHECK(kt_passphrase_request_role(NULL) == NULL && kt_passphrase_request_gun(NULL) == NULL);
    CHECK(kt_passphrase_request_key_id(NULL) == NULL);
    CHECK(!kt_passphrase_request_is_new(NULL) && kt_passphrase_request_attempt(NULL) == 0);
    CHECK(!kt_passphrase_request_is_vault_master(NULL));
    kt_error_free(NULL);
    kt_string_free(NULL);
    kt_bytes_free(NULL, 0);
    kt_key_free(NULL);
    kt_keystore_free(NULL);
    kt_keystore_free(store);
}

static void test_invalid_utf8(const char *dir) {
    kt_keystore *store = NULL;
    kt_error *err = NULL;
    char *s = NULL;
    struct answer a = {.passphrase = CANARY};
    CHECK_STATUS(kt_keystore_open("/tmp/\xff\xfe", &store, &err), KT_STATUS_INVALID_ARGUMENT);
    expect_error(err, KT_STATUS_INVALID_ARGUMENT, "UTF-8", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_keystore_open(dir, &store, NULL), KT_STATUS_OK);
    CHECK_STATUS(kt_key_generate(store, "targ\xc3\x28", "example.com/app", answer_cb, &a, &s, &err),
                 KT_STATUS_INVALID_ARGUMENT);
    expect_error(err, KT_STATUS_INVALID_ARGUMENT, "role", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_key_generate(store, "targets", "example.com/\x80", answer_cb, &a, &s, NULL),
                 KT_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(kt_keystore_list_json(store, NULL, "\xfe", &s, NULL), KT_STATUS_INVALID_ARGUMENT);
    CHECK(s == NULL && a.calls == 0);
    kt_keystore_free(store);
}

static void test_generate_list_load_sign(const char *dir) {
    kt_keystore *store = NULL;
    kt_error *err = NULL;
    char *root_id = NULL, *targets_id = NULL, *json = NULL, *bundle = NULL;
    kt_key *key = NULL, *tkey = NULL;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    uint8_t sig1[KT_SIGNATURE_LEN], sig2[KT_SIGNATURE_LEN], sig3[KT_SIGNATURE_LEN];
    const uint8_t msg[] = "signed by the C suite";
    struct answer a = {.passphrase = CANARY};

    CHECK_STATUS(kt_keystore_open(dir, &store, &err), KT_STATUS_OK);
    CHECK_STATUS(kt_key_generate(store, "root", NULL, answer_cb, &a, &root_id, &err), KT_STATUS_OK);
    CHECK(err == NULL && root_id != NULL && strlen(root_id) == 64);
    CHECK(a.calls == 1 && a.new_calls == 1 && strcmp(a.role, "root") == 0 && a.gun[0] == 0 && a.saw_key_id);

    CHECK_STATUS(kt_key_generate(store, "targets", "example.com/c/app", answer_cb, &a, &targets_id, NULL), KT_STATUS_OK);
    CHECK(strcmp(a.role, "targets") == 0 && strcmp(a.gun, "example.com/c/app") == 0);
    /* A targets key without a repository is refused before the callback is asked. */
    int before = a.calls;
    char *none = NULL;
    CHECK_STATUS(kt_key_generate(store, "targets", NULL, answer_cb, &a, &none, &err), KT_STATUS_INVALID_ARGUMENT);
    expect_error(err, KT_STATUS_INVALID_ARGUMENT, "repository", __LINE__);
    err = NULL;
    CHECK(a.calls == before && none == NULL);

    CHECK_STATUS(kt_keystore_list_json(store, NULL, NULL, &json, NULL), KT_STATUS_OK);
    CHECK(json && strstr(json, root_id) && strstr(json, targets_id));
    kt_string_free(json);
    json = NULL;
    CHECK_STATUS(kt_keystore_list_json(store, "targets", "example.com/c/app", &json, NULL), KT_STATUS_OK);
    CHECK(json && !strstr(json, root_id) && strstr(json, targets_id));
    kt_string_free(json);
    json = NULL;

    a.calls = 0;
    char prefix[9];
    memcpy(prefix, root_id, 8);
    prefix[8] = 0;
    CHECK_STATUS(kt_key_load(store, prefix, answer_cb, &a, &key, &err), KT_STATUS_OK);
    CHECK(a.calls == 1 && a.last_attempt == 0 && a.new_calls == 2);
    CHECK(key && strcmp(kt_key_id(key), root_id) == 0 && strcmp(kt_key_role(key), "root") == 0);
    CHECK(kt_key_gun(key) == NULL);
    CHECK_STATUS(kt_key_public_spki(key, &spki, &spki_len, NULL), KT_STATUS_OK);
    CHECK(spki && spki_len == 91); /* DER SPKI of a P-256 key */

    CHECK_STATUS(kt_key_sign(key, msg, sizeof msg - 1, sig1, NULL), KT_STATUS_OK);
    CHECK(openssl_verifies(spki, spki_len, msg, sizeof msg - 1, sig1));
    CHECK(!openssl_verifies(spki, spki_len, msg, sizeof msg - 2, sig1));
    CHECK_STATUS(kt_key_sign(key, msg, sizeof msg - 1, sig2, NULL), KT_STATUS_OK);
    CHECK(openssl_verifies(spki, spki_len, msg, sizeof msg - 1, sig2));
    CHECK(memcmp(sig1, sig2, sizeof sig1) != 0); /* a fresh nonce each time */
    CHECK_STATUS(kt_keystore_sign(store, root_id, msg, sizeof msg - 1, answer_cb, &a, sig3, NULL), KT_STATUS_OK);
    CHECK(openssl_verifies(spki, spki_len, msg, sizeof msg - 1, sig3));
    CHECK_STATUS(kt_key_sign(key, NULL, 0, sig2, NULL), KT_STATUS_OK);
    CHECK(openssl_verifies(spki, spki_len, (const uint8_t *)"", 0, sig2));
    CHECK(!openssl_verifies(spki, spki_len, msg, sizeof msg - 1, sig2));
    kt_bytes_free(spki, spki_len);
    CHECK_STATUS(kt_key_sign(key, msg, 1, NULL, NULL), KT_STATUS_NULL_ARGUMENT);

    CHECK_STATUS(kt_key_load(store, targets_id, answer_cb, &a, &tkey, NULL), KT_STATUS_OK);
    CHECK(tkey && strcmp(kt_key_gun(tkey), "example.com/c/app") == 0);

    /* Unknown key, ambiguous or malformed prefix. */
    kt_key *missing = NULL;
    CHECK_STATUS(kt_key_load(store, "0000000000000000000000000000000000000000000000000000000000000000",
                             answer_cb, &a, &missing, &err), KT_STATUS_NOT_FOUND);
    expect_error(err, KT_STATUS_NOT_FOUND, "was not found", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_key_load(store, "zz", answer_cb, &a, &missing, NULL), KT_STATUS_INVALID_ARGUMENT);
    CHECK(missing == NULL);

    /* Export one key, import it into a second trust directory. */
    const char *ids[] = {root_id};
    CHECK_STATUS(kt_keystore_export(store, ids, 1, NULL, &bundle, NULL), KT_STATUS_OK);
    CHECK(bundle && strstr(bundle, "BEGIN ENCRYPTED PRIVATE KEY") && strstr(bundle, "role: root"));

    char other_dir[4096];
    snprintf(other_dir, sizeof other_dir, "%s/other", dir);
    kt_keystore *other = NULL;
    CHECK_STATUS(kt_keystore_open(other_dir, &other, NULL), KT_STATUS_OK);
    CHECK_STATUS(kt_keystore_import(other, (const uint8_t *)bundle, strlen(bundle), "bundle.pem", NULL,
                                    NULL, false, answer_cb, &a, &json, &err), KT_STATUS_OK);
    CHECK(json && strstr(json, root_id) && strstr(json, "\"written\""));
    kt_string_free(json);
    json = NULL;
    CHECK_STATUS(kt_keystore_import(other, (const uint8_t *)"not pem", 7, NULL, NULL, NULL, false,
                                    answer_cb, &a, &json, &err), KT_STATUS_INVALID_KEY_FILE);
    expect_error(err, KT_STATUS_INVALID_KEY_FILE, NULL, __LINE__);
    err = NULL;
    CHECK(json == NULL);
    kt_keystore_free(other);
    kt_string_free(bundle);
    bundle = NULL;
    CHECK_STATUS(kt_keystore_export(store, NULL, 0, "example.com/c/app", &bundle, NULL), KT_STATUS_OK);
    CHECK(bundle && strstr(bundle, targets_id) && !strstr(bundle, root_id));
    kt_string_free(bundle);

    /* Offline init reuses the keys already there (it creates none). */
    CHECK_STATUS(kt_repo_init(store, "example.com/c/app", NULL, NULL, false, answer_cb, &a, &json, &err), KT_STATUS_OK);
    CHECK(json && strstr(json, targets_id) && strstr(json, "\"targets_provenance\":\"reused\""));
    kt_string_free(json);
    json = NULL;

    /* Status offline and a local rotation of the targets key (dry run, then for real). */
    CHECK_STATUS(kt_repo_status_json(store, "example.com/c/app", NULL, NULL, &json, NULL), KT_STATUS_OK);
    CHECK(json && strstr(json, targets_id));
    kt_string_free(json);
    json = NULL;
    CHECK_STATUS(kt_repo_rotate(store, "example.com/c/app", "targets", NULL, NULL, false, true,
                                answer_cb, &a, &json, &err), KT_STATUS_OK);
    CHECK(json && strstr(json, "\"dry_run\":true"));
    kt_string_free(json);
    json = NULL;
    CHECK_STATUS(kt_repo_rotate(store, "example.com/c/app", "targets", NULL, NULL, false, false,
                                answer_cb, &a, &json, &err), KT_STATUS_OK);
    CHECK(json && strstr(json, targets_id) && strstr(json, "\"new_key\":\""));
    kt_string_free(json);
    json = NULL;
    CHECK_STATUS(kt_repo_rotate(store, "example.com/c/app", "timestamp", NULL, NULL, false, false,
                                answer_cb, &a, &json, &err), KT_STATUS_INVALID_ARGUMENT);
    expect_error(err, KT_STATUS_INVALID_ARGUMENT, "timestamp", __LINE__);
    /* A renewal's validity is checked before any network traffic (0 means notary's defaults). */
    err = NULL;
    CHECK_STATUS(kt_repo_renew(store, "example.com/c/app", "targets", false, UINT64_MAX, "https://127.0.0.1:1", NULL,
                               false, answer_cb, &a, &json, &err), KT_STATUS_INVALID_ARGUMENT);
    expect_error(err, KT_STATUS_INVALID_ARGUMENT, "validity", __LINE__);
    CHECK(json == NULL);
    /* The loaded key outlives its rotation and its store. */
    kt_keystore_free(store);
    CHECK_STATUS(kt_key_sign(tkey, msg, sizeof msg - 1, sig3, NULL), KT_STATUS_OK);

    kt_key_free(tkey);
    kt_key_free(key);
    kt_string_free(root_id);
    kt_string_free(targets_id);
}

static void test_passphrase_failures(const char *dir) {
    kt_keystore *store = NULL;
    kt_error *err = NULL;
    char *id = NULL, *other = NULL;
    kt_key *key = NULL;
    struct answer good = {.passphrase = CANARY};

    CHECK_STATUS(kt_keystore_open(dir, &store, NULL), KT_STATUS_OK);
    CHECK_STATUS(kt_key_generate(store, "snapshot", "example.com/c/pp", answer_cb, &good, &id, NULL), KT_STATUS_OK);

    /* Wrong passphrase: asked 3 times (attempts 0, 1, 2), then WRONG_PASSPHRASE. */
    struct answer wrong = {.passphrase = "not-the-passphrase"};
    CHECK_STATUS(kt_key_load(store, id, answer_cb, &wrong, &key, &err), KT_STATUS_WRONG_PASSPHRASE);
    expect_error(err, KT_STATUS_WRONG_PASSPHRASE, "callback", __LINE__);
    err = NULL;
    CHECK(wrong.calls == 3 && wrong.last_attempt == 2 && key == NULL);

    /* A callback that fails cancels the call. */
    struct answer failing = {.fail_with = -7};
    CHECK_STATUS(kt_key_load(store, id, answer_cb, &failing, &key, &err), KT_STATUS_CANCELLED);
    expect_error(err, KT_STATUS_CANCELLED, "cancelled", __LINE__);
    err = NULL;
    CHECK(failing.calls == 1);
    CHECK_STATUS(kt_key_generate(store, "root", NULL, answer_cb, &failing, &other, NULL), KT_STATUS_CANCELLED);

    /* "I have none", and no callback at all. */
    struct answer none = {.passphrase = NULL};
    CHECK_STATUS(kt_key_load(store, id, answer_cb, &none, &key, NULL), KT_STATUS_PASSPHRASE_REQUIRED);
    CHECK_STATUS(kt_key_load(store, id, NULL, NULL, &key, &err), KT_STATUS_PASSPHRASE_REQUIRED);
    expect_error(err, KT_STATUS_PASSPHRASE_REQUIRED, "snapshot", __LINE__);
    err = NULL;

    /* Too long a passphrase. */
    struct answer too_long = {.claim_len = KT_PASSPHRASE_MAX + 1};
    CHECK_STATUS(kt_key_load(store, id, answer_cb, &too_long, &key, &err), KT_STATUS_INVALID_ARGUMENT);
    expect_error(err, KT_STATUS_INVALID_ARGUMENT, "at most 1024", __LINE__);
    err = NULL;

    /* Invalid UTF-8 passphrase, and an empty new passphrase. */
    struct answer bad_utf8 = {.passphrase = "\xff\xfe"};
    CHECK_STATUS(kt_key_load(store, id, answer_cb, &bad_utf8, &key, NULL), KT_STATUS_INVALID_ARGUMENT);
    struct answer empty = {.passphrase = ""};
    CHECK_STATUS(kt_key_generate(store, "root", NULL, answer_cb, &empty, &other, NULL), KT_STATUS_WEAK_PASSPHRASE);
    CHECK(key == NULL && other == NULL);

    /* passwd to the current passphrase (a callback that ignores is_new) is refused and changes
     * nothing: "Successfully updated" would be untrue. */
    struct answer same = {.passphrase = CANARY};
    CHECK_STATUS(kt_keystore_passwd(store, id, answer_cb, &same, &err), KT_STATUS_WEAK_PASSPHRASE);
    expect_error(err, KT_STATUS_WEAK_PASSPHRASE, "same as the current one", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_key_load(store, id, answer_cb, &good, &key, NULL), KT_STATUS_OK);
    kt_key_free(key);
    key = NULL;

    /* passwd: the old passphrase stops working, the new one works. */
    struct answer change = {.passphrase = CANARY, .new_passphrase = "the-new-passphrase"};
    CHECK_STATUS(kt_keystore_passwd(store, id, answer_cb, &change, &err), KT_STATUS_OK);
    CHECK(change.calls == 2 && change.new_calls == 1);
    CHECK_STATUS(kt_key_load(store, id, answer_cb, &good, &key, NULL), KT_STATUS_WRONG_PASSPHRASE);
    struct answer renewed = {.passphrase = "the-new-passphrase"};
    CHECK_STATUS(kt_key_load(store, id, answer_cb, &renewed, &key, NULL), KT_STATUS_OK);
    kt_key_free(key);
    kt_string_free(id);
    kt_keystore_free(store);
}

/* The vault from C: created under a master passphrase the callback gives (asked as the vault's,
 * as new, at least 8 characters), listed, re-sealed under a new master; and a new key's
 * passphrase from the callback must have 8 characters too. */
static int32_t vault_cb(void *user_data, const kt_passphrase_request *req, uint8_t *buf,
                        size_t buf_len, size_t *len_out) {
    const char **masters = user_data; /* [0]: current master, [1]: new master */
    if (!kt_passphrase_request_is_vault_master(req) || kt_passphrase_request_key_id(req) != NULL)
        return KT_STATUS_CANCELLED;
    bool is_new = kt_passphrase_request_is_new(req);
    const char *role = kt_passphrase_request_role(req);
    const char *p;
    if (strcmp(role, "vault master") == 0)
        p = masters[0];
    else if (strcmp(role, "new vault master") == 0 && is_new)
        p = masters[1];
    else
        return KT_STATUS_CANCELLED;
    size_t n = strlen(p);
    if (n > buf_len) return KT_STATUS_CANCELLED;
    memcpy(buf, p, n);
    *len_out = n;
    return KT_STATUS_OK;
}

static void test_vault_and_new_passphrases(const char *dir) {
    kt_keystore *store = NULL;
    kt_error *err = NULL;
    char *json = NULL, *id = NULL;
    unsetenv("KEYTOOL_VAULT_PASSPHRASE");
    CHECK_STATUS(kt_keystore_open(dir, &store, NULL), KT_STATUS_OK);
    CHECK_STATUS(kt_vault_status_json(store, &json, NULL), KT_STATUS_OK);
    CHECK(json && strstr(json, "\"exists\":false"));
    kt_string_free(json);
    json = NULL;

    const char *short_master[] = {"short", "unused"};
    CHECK_STATUS(kt_vault_init(store, 64, 1, 1, vault_cb, short_master, &json, &err), KT_STATUS_WEAK_PASSPHRASE);
    expect_error(err, KT_STATUS_WEAK_PASSPHRASE, "at least 8", __LINE__);
    err = NULL;
    CHECK(json == NULL);
    const char *masters[] = {"c-master-passphrase-1", "c-master-passphrase-2"};
    CHECK_STATUS(kt_vault_init(store, 64, 1, 1, vault_cb, masters, &json, NULL), KT_STATUS_OK);
    CHECK(json && strstr(json, "\"exists\":true") && strstr(json, "\"m_kib\":64"));
    kt_string_free(json);
    json = NULL;
    CHECK_STATUS(kt_vault_init(store, 64, 1, 1, vault_cb, masters, &json, NULL), KT_STATUS_ALREADY_EXISTS);
    CHECK_STATUS(kt_vault_change_master(store, 128, 1, 1, vault_cb, masters, NULL), KT_STATUS_OK);
    CHECK_STATUS(kt_vault_change_master(store, 64, 1, 1, vault_cb, masters, &err), KT_STATUS_WRONG_PASSPHRASE);
    expect_error(err, KT_STATUS_WRONG_PASSPHRASE, NULL, __LINE__);
    err = NULL;
    CHECK_STATUS(kt_vault_status_json(store, &json, NULL), KT_STATUS_OK);
    CHECK(json && strstr(json, "\"m_kib\":128"));
    kt_string_free(json);

    struct answer seven = {.passphrase = "1234567"};
    CHECK_STATUS(kt_key_generate(store, "root", NULL, answer_cb, &seven, &id, &err), KT_STATUS_WEAK_PASSPHRASE);
    expect_error(err, KT_STATUS_WEAK_PASSPHRASE, "at least 8", __LINE__);
    err = NULL;
    CHECK(id == NULL);
    struct answer eight = {.passphrase = "12345678"};
    CHECK_STATUS(kt_key_generate(store, "targets", "example.com/c/vault", answer_cb, &eight, &id, NULL), KT_STATUS_OK);

    /* The checked status opens the targets key with the callback's passphrase. */
    CHECK_STATUS(kt_repo_status_checked_json(store, "example.com/c/vault", NULL, NULL, answer_cb, &eight, &json, NULL), KT_STATUS_OK);
    CHECK(json && strstr(json, "\"passphrase_checked\":true") && strstr(json, "\"targets_passphrase\":\"the passphrase callback\""));
    kt_string_free(json);
    kt_string_free(id);
    kt_keystore_free(store);
}

/* The whole file `path` (NUL-terminated, malloc'd; NULL when it cannot be read). */
static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = (len + 4096 + 1) * 2;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t n = fread(buf + len, 1, 4096, f);
        len += n;
        if (n < 4096) break;
    }
    fclose(f);
    buf[len] = 0;
    return buf;
}

static int exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Whether the PUBLIC KEY PEM file `path` (or the public key of the CERTIFICATE PEM file, with
 * `is_cert`) is, per OpenSSL, the DER SPKI `spki`. */
static int openssl_public_key_is(const char *path, int is_cert, const uint8_t *spki, size_t spki_len) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    EVP_PKEY *pkey = NULL;
    X509 *cert = NULL;
    if (is_cert) {
        cert = PEM_read_X509(f, NULL, NULL, NULL);
        if (cert) pkey = X509_get_pubkey(cert);
    } else {
        pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    }
    fclose(f);
    unsigned char *der = NULL;
    int der_len = pkey ? i2d_PUBKEY(pkey, &der) : -1;
    int same = der_len > 0 && (size_t)der_len == spki_len && memcmp(der, spki, spki_len) == 0;
    OPENSSL_free(der);
    EVP_PKEY_free(pkey);
    X509_free(cert);
    return same;
}

/* Leaving Docker Content Trust: a key exported for cosign (public key checked by OpenSSL,
 * sealed file shaped as cosign's) and for notation (its certificate's key checked by OpenSSL);
 * bad input changes nothing; migrate sigstore fails cleanly without a reachable server and makes
 * no key. (sigstore-rs decrypts the cosign export in ffi/tests/leaving.rs; the real migration runs
 * against a registry in the interop suite.) */
static void test_leaving_content_trust(const char *dir) {
    kt_keystore *store = NULL;
    kt_error *err = NULL;
    kt_key *key = NULL;
    char *id = NULL, *json = NULL, *list = NULL, *after = NULL;
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    char trust[4096], cosign_key[4096], cosign_pub[4096], notation[4096], path[8192];
    struct answer a = {.passphrase = CANARY};

    snprintf(trust, sizeof trust, "%s/trust", dir);
    snprintf(cosign_key, sizeof cosign_key, "%s/cosign.key", dir);
    snprintf(cosign_pub, sizeof cosign_pub, "%s/cosign.pub", dir);
    snprintf(notation, sizeof notation, "%s/notation", dir);
    CHECK_STATUS(kt_keystore_open(trust, &store, NULL), KT_STATUS_OK);
    CHECK_STATUS(kt_key_generate(store, "targets", "example.com/c/leave", answer_cb, &a, &id, NULL), KT_STATUS_OK);
    if (!id) goto out;
    CHECK_STATUS(kt_key_load(store, id, answer_cb, &a, &key, NULL), KT_STATUS_OK);
    CHECK_STATUS(kt_key_public_spki(key, &spki, &spki_len, NULL), KT_STATUS_OK);

    /* A wrong passphrase, and a private key file that would be its own .pub: nothing written. */
    struct answer wrong = {.passphrase = "not-the-passphrase"};
    CHECK_STATUS(kt_keystore_export_cosign(store, id, cosign_key, false, answer_cb, &wrong, &json, &err), KT_STATUS_WRONG_PASSPHRASE);
    expect_error(err, KT_STATUS_WRONG_PASSPHRASE, NULL, __LINE__);
    err = NULL;
    snprintf(path, sizeof path, "%s/x.pub", dir);
    CHECK_STATUS(kt_keystore_export_cosign(store, id, path, false, answer_cb, &a, &json, &err), KT_STATUS_INVALID_ARGUMENT);
    expect_error(err, KT_STATUS_INVALID_ARGUMENT, "public key", __LINE__);
    err = NULL;
    CHECK(json == NULL && !exists(cosign_key) && !exists(cosign_pub) && !exists(path));

    /* The export: report, files, modes; the passphrase is in none of them. */
    char prefix[11];
    memcpy(prefix, id, 10);
    prefix[10] = 0;
    a.calls = a.new_calls = 0;
    CHECK_STATUS(kt_keystore_export_cosign(store, prefix, cosign_key, false, answer_cb, &a, &json, &err), KT_STATUS_OK);
    CHECK(err == NULL && a.calls == 1 && a.new_calls == 0);
    CHECK(json && strstr(json, id) && strstr(json, "\"algorithm\":\"ecdsa\"") &&
          strstr(json, "\"passphrase_source\":\"the passphrase callback\"") && strstr(json, "cosign.pub") &&
          !strstr(json, CANARY));
    kt_string_free(json);
    json = NULL;
    char *sealed = read_file(cosign_key);
    CHECK(sealed && strncmp(sealed, "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n", 47) == 0 &&
          !strstr(sealed, CANARY));
    struct stat st;
    CHECK(stat(cosign_key, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(openssl_public_key_is(cosign_pub, 0, spki, spki_len));

    /* Again without overwrite: ALREADY_EXISTS, the sealed file unchanged; with it: replaced. */
    CHECK_STATUS(kt_keystore_export_cosign(store, id, cosign_key, false, answer_cb, &a, &json, &err), KT_STATUS_ALREADY_EXISTS);
    expect_error(err, KT_STATUS_ALREADY_EXISTS, NULL, __LINE__);
    err = NULL;
    char *unchanged = read_file(cosign_key);
    CHECK(sealed && unchanged && strcmp(sealed, unchanged) == 0);
    free(unchanged);
    CHECK_STATUS(kt_keystore_export_cosign(store, id, cosign_key, true, answer_cb, &a, &json, NULL), KT_STATUS_OK);
    unchanged = read_file(cosign_key);
    CHECK(sealed && unchanged && strcmp(sealed, unchanged) != 0); /* a fresh salt and nonce */
    free(unchanged);
    free(sealed);
    kt_string_free(json);
    json = NULL;

    /* notation: a bad name and an unknown key write nothing; then the export. */
    CHECK_STATUS(kt_keystore_export_notation(store, id, notation, "-rf", 0, false, answer_cb, &a, &json, &err), KT_STATUS_INVALID_ARGUMENT);
    expect_error(err, KT_STATUS_INVALID_ARGUMENT, "notation key name", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_keystore_export_notation(store, "0000000000000000000000000000000000000000000000000000000000000000",
                                             notation, NULL, 0, false, answer_cb, &a, &json, &err), KT_STATUS_NOT_FOUND);
    expect_error(err, KT_STATUS_NOT_FOUND, NULL, __LINE__);
    err = NULL;
    CHECK(json == NULL && !exists(notation));
    CHECK_STATUS(kt_keystore_export_notation(store, id, notation, "c-key", 86400 * 30, false, answer_cb, &a, &json, &err), KT_STATUS_OK);
    CHECK(json && strstr(json, "\"name\":\"c-key\"") && strstr(json, "\"default_key\":true") &&
          strstr(json, "\"valid_days\":30") && !strstr(json, CANARY));
    kt_string_free(json);
    json = NULL;
    snprintf(path, sizeof path, "%s/localkeys/c-key.crt", notation);
    CHECK(openssl_public_key_is(path, 1, spki, spki_len));
    snprintf(path, sizeof path, "%s/signingkeys.json", notation);
    char *config = read_file(path);
    CHECK(config && strstr(config, "\"c-key\"") && strstr(config, "localkeys/c-key.key"));
    CHECK_STATUS(kt_keystore_export_notation(store, id, notation, "c-key", 0, false, answer_cb, &a, &json, &err), KT_STATUS_ALREADY_EXISTS);
    expect_error(err, KT_STATUS_ALREADY_EXISTS, "c-key", __LINE__);
    err = NULL;
    char *config_after = read_file(path);
    CHECK(config && config_after && strcmp(config, config_after) == 0);
    free(config);
    free(config_after);

    /* migrate sigstore: bad arguments and an unreachable server fail before any key is made. */
    CHECK_STATUS(kt_keystore_list_json(store, NULL, NULL, &list, NULL), KT_STATUS_OK);
    CHECK_STATUS(kt_repo_migrate_sigstore(store, "example.com/c/leave", id, true, NULL, false, false, NULL,
                                          "https://127.0.0.1:1", NULL, answer_cb, &a, &json, &err), KT_STATUS_INVALID_ARGUMENT);
    expect_error(err, KT_STATUS_INVALID_ARGUMENT, "generate", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_repo_migrate_sigstore(store, "example.com/c/leave", NULL, true, "http://127.0.0.1:1", true, false, NULL,
                                          "https://127.0.0.1:1", NULL, answer_cb, &a, &json, &err), KT_STATUS_INVALID_ARGUMENT);
    expect_error(err, KT_STATUS_INVALID_ARGUMENT, "registry_insecure", __LINE__);
    err = NULL;
    CHECK_STATUS(kt_repo_migrate_sigstore(store, "Not A GUN", NULL, true, NULL, false, false, NULL,
                                          "https://127.0.0.1:1", NULL, answer_cb, &a, &json, &err), KT_STATUS_INVALID_ARGUMENT);
    expect_error(err, KT_STATUS_INVALID_ARGUMENT, NULL, __LINE__);
    err = NULL;
    snprintf(path, sizeof path, "%s/sigstore.pub", dir);
    a.calls = 0;
    CHECK_STATUS(kt_repo_migrate_sigstore(store, "example.com/c/leave", NULL, true, NULL, false, false, path,
                                          "https://127.0.0.1:1", NULL, answer_cb, &a, &json, &err), KT_STATUS_NETWORK);
    expect_error(err, KT_STATUS_NETWORK, NULL, __LINE__);
    err = NULL;
    CHECK(json == NULL && a.calls == 0 && !exists(path));
    CHECK_STATUS(kt_keystore_list_json(store, NULL, NULL, &after, NULL), KT_STATUS_OK);
    CHECK(list && after && strcmp(list, after) == 0); /* no sigstore key was generated */
    kt_string_free(list);
    kt_string_free(after);

out:
    kt_bytes_free(spki, spki_len);
    kt_key_free(key);
    kt_string_free(id);
    kt_keystore_free(store);
}

static void test_open_a_file(const char *dir) {
    char path[4096];
    snprintf(path, sizeof path, "%s/plain-file", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    kt_keystore *store = NULL;
    kt_error *err = NULL;
    CHECK_STATUS(kt_keystore_open(path, &store, &err), KT_STATUS_IO);
    expect_error(err, KT_STATUS_IO, "not a directory", __LINE__);
    CHECK(store == NULL);
}

static void test_panic(void) {
#if defined(KT_TEST_PANIC)
    kt_error *err = NULL;
    CHECK_STATUS(kt_test_panic(&err), KT_STATUS_PANIC);
    expect_error(err, KT_STATUS_PANIC, "deliberate panic", __LINE__);
    CHECK_STATUS(kt_test_panic(NULL), KT_STATUS_PANIC);
    /* The library is still usable afterwards. */
    CHECK(strcmp(kt_status_str(KT_STATUS_PANIC), "unknown status") != 0);
#else
    fprintf(stderr, "note: built without KT_TEST_PANIC; the panic test is skipped\n");
#endif
}

int main(void) {
    char tmpl[] = "/tmp/kt-c-test-XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir) {
        perror("mkdtemp");
        return 2;
    }
    char sub[4096];
    test_version_and_status();
    snprintf(sub, sizeof sub, "%s/null", dir);
    test_null_everywhere(sub);
    snprintf(sub, sizeof sub, "%s/utf8", dir);
    test_invalid_utf8(sub);
    snprintf(sub, sizeof sub, "%s/main", dir);
    test_generate_list_load_sign(sub);
    snprintf(sub, sizeof sub, "%s/pp", dir);
    test_passphrase_failures(sub);
    snprintf(sub, sizeof sub, "%s/vault", dir);
    test_vault_and_new_passphrases(sub);
    snprintf(sub, sizeof sub, "%s/leave", dir);
    mkdir(sub, 0700);
    test_leaving_content_trust(sub);
    test_open_a_file(dir);
    test_panic();
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
