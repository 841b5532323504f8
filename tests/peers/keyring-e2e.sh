#!/usr/bin/env bash
# The OS keyring end to end with two keytool processes: the first creates a key with
# --generate-passphrase (stored in the keyring; with kernel keyutils, which forgets entries, it is
# refused without a vault and then kept in the vault), a second process with no passphrase variable
# and no terminal unlocks it (key passwd), then the entry is removed. Run it inside a store:
#   keyctl session - tests/peers/keyring-e2e.sh KEYTOOL EXPECTED_STORE
#   dbus-run-session -- tests/peers/secret-service.sh tests/peers/keyring-e2e.sh KEYTOOL "Secret Service"
set -euo pipefail
kt=$1 expected=$2
trust=$(mktemp -d)
trap 'rm -rf "$trust"' EXIT
clean_env() { env -u KEYTOOL_ROOT_PASSPHRASE -u DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE \
    -u NOTARY_ROOT_PASSPHRASE -u KEYTOOL_KEYRING CI=true "$@" </dev/null; }
# kernel keyutils forgets entries (reboot, days unused): a generated passphrase goes to the vault.
answer="the OS keyring ($expected)"
if [ "$expected" = "kernel keyutils" ]; then
    export KEYTOOL_VAULT_PASSPHRASE=e2e-vault-master
    if clean_env "$kt" --trust-dir "$trust" key generate --role root --generate-passphrase 2>/dev/null; then
        echo "a generated passphrase was kept only in keyutils" >&2; exit 1
    fi
    clean_env "$kt" --trust-dir "$trust" vault init --m-kib 64 --t 1
    answer="the vault"
fi
id=$(clean_env "$kt" --trust-dir "$trust" key generate --role root --generate-passphrase \
    --kdf-iterations 2048)
clean_env "$kt" --trust-dir "$trust" passphrase explain "$id" | tee "$trust/explain"
grep -q -- "-> .*$answer.*: answers" "$trust/explain"
# A second process: no env, no prompt; the keyring opens the key (and follows the new passphrase).
clean_env "$kt" --trust-dir "$trust" --kdf-iterations 2048 key passwd "$id" --generate-passphrase
clean_env "$kt" --trust-dir "$trust" --kdf-iterations 2048 passphrase generate "$id"
clean_env "$kt" --trust-dir "$trust" passphrase remove "$id"
if clean_env "$kt" --trust-dir "$trust" key passwd "$id" 2>/dev/null; then
    echo "the key still opened after its keyring entry was removed" >&2; exit 1
fi
echo "keyring ($expected; generated passphrases in: $answer): stored on creation, unlocked by later processes with no env/prompt, removed"
