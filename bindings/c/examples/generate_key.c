/* Generates a key in a trust directory, signs a message with it and lists the directory.
 *
 *   KT_EXAMPLE_PASSPHRASE=... generate_key TRUST_DIR ROLE [GUN]
 *
 * Build (see ../README.md):  cc -std=c11 generate_key.c $(pkg-config --cflags --libs keytool)
 * The passphrase comes from the environment here only to keep the example short: a real program
 * asks its user, and wipes its copy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt_ffi.h"

static int32_t passphrase_from_env(void *user_data, const kt_passphrase_request *req,
                                   uint8_t *buf, size_t buf_len, size_t *len_out) {
    (void)user_data;
    fprintf(stderr, "passphrase wanted for the %s key %s (%s, attempt %u)\n",
            kt_passphrase_request_role(req),
            kt_passphrase_request_key_id(req) ? kt_passphrase_request_key_id(req) : "(unknown)",
            kt_passphrase_request_is_new(req) ? "new" : "existing",
            (unsigned)kt_passphrase_request_attempt(req));
    if (kt_passphrase_request_attempt(req) > 0) return KT_STATUS_CANCELLED; /* no second guess */
    const char *p = getenv("KT_EXAMPLE_PASSPHRASE");
    if (!p) return KT_STATUS_PASSPHRASE_REQUIRED;
    size_t n = strlen(p);
    *len_out = n;
    if (n <= buf_len) memcpy(buf, p, n); /* else the library reports "too long" */
    return KT_STATUS_OK;
}

static int fail(const char *what, kt_status st, kt_error *err) {
    fprintf(stderr, "%s failed: %s (%d): %s\n", what, kt_status_str(st), (int)st,
            err ? kt_error_message(err) : "");
    kt_error_free(err);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s TRUST_DIR ROLE [GUN]\n", argv[0]);
        return 2;
    }
    printf("kt_ffi %s\n", kt_version());
    kt_keystore *store = NULL;
    kt_key *key = NULL;
    kt_error *err = NULL;
    char *key_id = NULL, *json = NULL;
    int rc = 1;
    kt_status st;

    if ((st = kt_keystore_open(argv[1], &store, &err)) != KT_STATUS_OK) {
        rc = fail("open", st, err);
        goto done;
    }
    st = kt_key_generate(store, argv[2], argc > 3 ? argv[3] : NULL, passphrase_from_env, NULL,
                         &key_id, &err);
    if (st != KT_STATUS_OK) {
        rc = fail("generate", st, err);
        goto done;
    }
    printf("generated %s\n", key_id);
    if ((st = kt_key_load(store, key_id, passphrase_from_env, NULL, &key, &err)) != KT_STATUS_OK) {
        rc = fail("load", st, err);
        goto done;
    }
    const char *msg = "hello from C";
    uint8_t sig[KT_SIGNATURE_LEN];
    if ((st = kt_key_sign(key, (const uint8_t *)msg, strlen(msg), sig, &err)) != KT_STATUS_OK) {
        rc = fail("sign", st, err);
        goto done;
    }
    printf("signature: ");
    for (size_t i = 0; i < sizeof sig; i++) printf("%02x", sig[i]);
    printf("\n");
    if ((st = kt_keystore_list_json(store, NULL, NULL, &json, &err)) != KT_STATUS_OK) {
        rc = fail("list", st, err);
        goto done;
    }
    printf("keys: %s\n", json);
    rc = 0;
done:
    kt_string_free(json);
    kt_string_free(key_id);
    kt_key_free(key);
    kt_keystore_free(store);
    return rc;
}
