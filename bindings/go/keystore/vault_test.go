package keystore_test

import (
	"errors"
	"testing"

	"example.invalid/keytool/bindings/go/keystore"
)

// Cheap Argon2id parameters for tests.
var fastKDF = keystore.VaultKDF{MemoryKiB: 64, Passes: 1, Lanes: 1}

func TestVaultInitStatusChangeMaster(t *testing.T) {
	t.Setenv("KEYTOOL_VAULT_PASSPHRASE", "")
	t.Setenv("KEYTOOL_KEYRING", "none")
	ks, _ := open(t)
	st, err := ks.VaultStatus()
	if err != nil || st.Exists {
		t.Fatalf("VaultStatus before init: %v %+v", err, st)
	}
	// The master passphrase is asked as the vault's, as a new one; a short one is refused.
	var asked []keystore.Request
	short := func(r keystore.Request) ([]byte, error) {
		asked = append(asked, r)
		return []byte("short"), nil
	}
	if _, err := ks.InitVault(fastKDF, short); !errors.Is(err, keystore.ErrWeakPassphrase) {
		t.Fatalf("InitVault with a 5-character master: %v", err)
	}
	if len(asked) != 1 || !asked[0].VaultMaster || !asked[0].New || asked[0].Role != "vault master" || asked[0].KeyID != "" {
		t.Fatalf("request: %+v", asked)
	}
	if st, _ := ks.VaultStatus(); st.Exists {
		t.Fatal("a refused InitVault left a vault")
	}
	st, err = ks.InitVault(fastKDF, keystore.Passphrase([]byte("master-passphrase-1")))
	if err != nil || !st.Exists || st.KDF == nil || st.KDF.MemoryKiB != 64 || len(st.Entries) != 0 {
		t.Fatalf("InitVault: %v %+v", err, st)
	}
	if _, err := ks.InitVault(fastKDF, keystore.Passphrase([]byte("master-passphrase-1"))); !errors.Is(err, keystore.ErrAlreadyExists) {
		t.Errorf("second InitVault: %v", err)
	}
	// A wrong current master changes nothing; the right one re-seals under the new master.
	change := func(current string) keystore.PassphraseFunc {
		return func(r keystore.Request) ([]byte, error) {
			if r.New {
				if r.Role != "new vault master" || !r.VaultMaster {
					t.Errorf("new master request: %+v", r)
				}
				return []byte("master-passphrase-2"), nil
			}
			return []byte(current), nil
		}
	}
	if err := ks.ChangeVaultMaster(fastKDF, change("not-the-master")); !errors.Is(err, keystore.ErrWrongPassphrase) {
		t.Errorf("ChangeVaultMaster with a wrong master: %v", err)
	}
	if err := ks.ChangeVaultMaster(keystore.VaultKDF{MemoryKiB: 128, Passes: 1, Lanes: 1}, change("master-passphrase-1")); err != nil {
		t.Fatalf("ChangeVaultMaster: %v", err)
	}
	st, err = ks.VaultStatus()
	if err != nil || st.KDF == nil || st.KDF.MemoryKiB != 128 {
		t.Fatalf("VaultStatus after change: %v %+v", err, st)
	}
	if err := ks.ChangeVaultMaster(fastKDF, change("master-passphrase-1")); !errors.Is(err, keystore.ErrWrongPassphrase) {
		t.Errorf("the old master still opens the vault: %v", err)
	}
}

func TestNewPassphrasesHaveEightCharacters(t *testing.T) {
	t.Setenv("KEYTOOL_KEYRING", "none")
	ks, _ := open(t)
	if _, err := ks.Generate("root", "", keystore.Passphrase([]byte("1234567"))); !errors.Is(err, keystore.ErrWeakPassphrase) {
		t.Fatalf("Generate with 7 characters: %v", err)
	}
	if keys, _ := ks.List("", ""); len(keys) != 0 {
		t.Fatalf("a refused Generate wrote %+v", keys)
	}
	if _, err := ks.Generate("root", "", keystore.Passphrase([]byte("12345678"))); err != nil {
		t.Fatalf("Generate with 8 characters: %v", err)
	}
}

func TestStatusChecked(t *testing.T) {
	t.Setenv("KEYTOOL_VAULT_PASSPHRASE", "")
	t.Setenv("KEYTOOL_KEYRING", "none")
	ks, _ := open(t)
	const gun = "example.com/go/checked"
	if _, err := ks.Init(gun, nil, false, keystore.Passphrase([]byte(canary))); err != nil {
		t.Fatalf("Init: %v", err)
	}
	unchecked, err := ks.Status(gun, nil)
	if err != nil || unchecked["passphrase_checked"] != false {
		t.Fatalf("Status: %v %v", err, unchecked)
	}
	checked, err := ks.StatusChecked(gun, nil, keystore.Passphrase([]byte(canary)))
	// Offline, a repository is never ready (docker push would make its own key); the check of the
	// passphrase still runs.
	if err != nil || checked["passphrase_checked"] != true || checked["targets_passphrase"] != "the passphrase callback" {
		t.Fatalf("StatusChecked: %v %v", err, checked)
	}
	wrong, err := ks.StatusChecked(gun, nil, keystore.Passphrase([]byte("not-the-passphrase")))
	if err != nil || wrong["targets_passphrase"] != nil || len(wrong["problems"].([]interface{})) < 2 {
		t.Fatalf("StatusChecked with a wrong passphrase: %v %v", err, wrong)
	}
	none, err := ks.StatusChecked(gun, nil, nil)
	if err != nil || none["targets_passphrase"] != nil || none["passphrase_checked"] != true {
		t.Fatalf("StatusChecked without a passphrase: %v %v", err, none)
	}
}
