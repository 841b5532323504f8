/* A program outside the keytool workspace, as a user of the installed library writes it: built
 * with `cc main.c $(pkg-config --cflags --libs keytool)` only (tests/peers/c-consumer.sh copies
 * it to a temporary directory). It checks that the loaded library is the header's version,
 * generates a root key in TRUST_DIR, loads it, signs a message and writes OUT_DIR/msg,
 * OUT_DIR/sig.raw (r||s) and OUT_DIR/spki.der for openssl to verify.
 *
 * Usage: main TRUST_DIR OUT_DIR */
#include <kt_ffi.h>
#include <stdio.h>
#include <string.h>

static int32_t passphrase(void *user_data, const kt_passphrase_request *req, uint8_t *buf,
                          size_t buf_len, size_t *len_out) {
    (void)req;
    const char *pass = user_data;
    size_t n = strlen(pass);
    *len_out = n;
    if (n <= buf_len) {
        memcpy(buf, pass, n);
    }
    return KT_STATUS_OK;
}

static int failed(const char *what, kt_status status, kt_error *err) {
    fprintf(stderr, "consumer: %s failed: %s (%d): %s\n", what, kt_status_str(status), (int)status,
            err ? kt_error_message(err) : "");
    kt_error_free(err);
    return 1;
}

static int write_file(const char *dir, const char *name, const void *data, size_t len) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        return 1;
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    size_t written = fwrite(data, 1, len, f);
    return (fclose(f) != 0 || written != len) ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s TRUST_DIR OUT_DIR\n", argv[0]);
        return 2;
    }
    if (strcmp(kt_version(), KT_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: header %s, library %s\n", KT_VERSION_STRING, kt_version());
        return 1;
    }
    char pass[] = "consumer-passphrase";
    kt_error *err = NULL;
    kt_keystore *store = NULL;
    kt_status st = kt_keystore_open(argv[1], &store, &err);
    if (st != KT_STATUS_OK) {
        return failed("kt_keystore_open", st, err);
    }
    char *id = NULL;
    st = kt_key_generate(store, "root", NULL, passphrase, pass, &id, &err);
    if (st != KT_STATUS_OK) {
        kt_keystore_free(store);
        return failed("kt_key_generate", st, err);
    }
    kt_key *key = NULL;
    st = kt_key_load(store, id, passphrase, pass, &key, &err);
    kt_keystore_free(store);
    if (st != KT_STATUS_OK) {
        kt_string_free(id);
        return failed("kt_key_load", st, err);
    }
    const char msg[] = "signed by a program outside the keytool workspace";
    uint8_t sig[KT_SIGNATURE_LEN];
    uint8_t *spki = NULL;
    size_t spki_len = 0;
    st = kt_key_sign(key, (const uint8_t *)msg, sizeof msg - 1, sig, &err);
    if (st == KT_STATUS_OK) {
        st = kt_key_public_spki(key, &spki, &spki_len, &err);
    }
    kt_key_free(key);
    if (st != KT_STATUS_OK) {
        kt_string_free(id);
        return failed("kt_key_sign / kt_key_public_spki", st, err);
    }
    int rc = write_file(argv[2], "msg", msg, sizeof msg - 1) |
             write_file(argv[2], "sig.raw", sig, sizeof sig) |
             write_file(argv[2], "spki.der", spki, spki_len);
    printf("consumer: kt_ffi %s: generated root key %s and signed %zu bytes\n", kt_version(), id,
           sizeof msg - 1);
    kt_bytes_free(spki, spki_len);
    kt_string_free(id);
    return rc;
}
