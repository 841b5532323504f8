package keystore

/*
#include "kt_ffi.h"
*/
import "C"

import (
	"encoding/json"
	"unsafe"
)

// VaultKDF holds the Argon2id parameters of a vault being sealed; a zero field takes keytool's
// default (64 MiB, 4 passes, 1 lane).
type VaultKDF struct {
	MemoryKiB uint32
	Passes    uint32
	Lanes     uint32
}

// VaultEntry is one entry of the vault, listed without its secret.
type VaultEntry struct {
	KeyID string `json:"key_id"`
	// Slot is "current", or "pending" during an unfinished passphrase change.
	Slot string `json:"slot"`
	Role string `json:"role"`
	// GUN is the key's repository, "" for keys without one.
	GUN string `json:"gun,omitempty"`
}

// VaultParams are the Argon2id parameters a vault is sealed with.
type VaultParams struct {
	MemoryKiB uint32 `json:"m_kib"`
	Passes    uint32 `json:"t"`
	Lanes     uint32 `json:"p"`
}

// VaultStatus is the vault's header: nothing secret.
type VaultStatus struct {
	Path    string       `json:"path"`
	Exists  bool         `json:"exists"`
	Version *uint32      `json:"version"`
	KDF     *VaultParams `json:"kdf"`
	Entries []VaultEntry `json:"entries"`
}

func decodeVaultStatus(out *C.char) (*VaultStatus, error) {
	var v VaultStatus
	if err := json.Unmarshal([]byte(takeString(out)), &v); err != nil {
		return nil, &Error{Code: CodeInternal, Message: "cannot parse the vault status: " + err.Error()}
	}
	return &v, nil
}

// InitVault creates the passphrase vault of the trust directory, as `keytool vault init`. Its
// master passphrase comes from KEYTOOL_VAULT_PASSPHRASE, else pass (Request.VaultMaster and
// Request.New true; at least 8 characters). An existing vault is never replaced
// (CodeAlreadyExists).
func (ks *Keystore) InitVault(kdf VaultKDF, pass PassphraseFunc) (*VaultStatus, error) {
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_vault_init(p, C.uint32_t(kdf.MemoryKiB), C.uint32_t(kdf.Passes), C.uint32_t(kdf.Lanes), cb, ud, &out, &cerr)
		})
	})
	if err := toError(st, cerr, cause); err != nil {
		return nil, err
	}
	return decodeVaultStatus(out)
}

// VaultStatus reports the vault's format, parameters and entries (key IDs only), as `keytool
// vault status`; Exists is false when there is no vault. No passphrase is asked.
func (ks *Keystore) VaultStatus() (*VaultStatus, error) {
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	ks.use(func(p *C.kt_keystore) { st = C.kt_vault_status_json(p, &out, &cerr) })
	if err := toError(st, cerr, nil); err != nil {
		return nil, err
	}
	return decodeVaultStatus(out)
}

// ChangeVaultMaster re-seals the vault under a new master passphrase and new Argon2id
// parameters, atomically, as `keytool vault change-master`. pass is asked for the current master
// passphrase (unless KEYTOOL_VAULT_PASSPHRASE is set; Request.Role "vault master") and for the
// new one (Request.Role "new vault master", Request.New true; at least 8 characters).
func (ks *Keystore) ChangeVaultMaster(kdf VaultKDF, pass PassphraseFunc) error {
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_vault_change_master(p, C.uint32_t(kdf.MemoryKiB), C.uint32_t(kdf.Passes), C.uint32_t(kdf.Lanes), cb, ud, &cerr)
		})
	})
	return toError(st, cerr, cause)
}

// StatusChecked is Status that also checks, as `keytool status` does, that a passphrase opens
// the targets key the server expects: pass (Request.New false; it may return nil, nil), then the
// passphrases keytool stores (OS keyring, vault). passphrase_checked is then true, and ready
// true only when a passphrase opened the key.
func (ks *Keystore) StatusChecked(gun string, server *Server, pass PassphraseFunc) (map[string]interface{}, error) {
	var url, ca string
	if server != nil {
		url, ca = server.URL, server.CAFile
	}
	cgun, curl, cca := cString(gun), cOptString(url), cOptString(ca)
	defer freeCStrings(cgun, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_repo_status_checked_json(p, cgun, curl, cca, cb, ud, &out, &cerr)
		})
	})
	var m map[string]interface{}
	if err := decodeReport(st, cerr, cause, out, "status", &m); err != nil {
		return nil, err
	}
	return m, nil
}
