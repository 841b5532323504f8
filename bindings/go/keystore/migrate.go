package keystore

/*
#include "kt_ffi.h"
*/
import "C"

import (
	"time"
	"unsafe"
)

// CosignExport reports ExportCosign (the JSON object of `keytool --json key export --format
// cosign`).
type CosignExport struct {
	// KeyID is the key exported.
	KeyID string `json:"key_id"`
	// Algorithm is the key's algorithm ("ecdsa", "rsa" or "ed25519").
	Algorithm string `json:"algorithm"`
	// PrivateKey is the encrypted private key file (ENCRYPTED SIGSTORE PRIVATE KEY, mode 0600).
	PrivateKey string `json:"private_key"`
	// PublicKey is the public key file (PUBLIC KEY PEM): `cosign verify --key` takes it.
	PublicKey string `json:"public_key"`
	// PassphraseSource names where the passphrase came from (the same one now seals the cosign
	// file, and COSIGN_PASSWORD has to give it); never the passphrase itself.
	PassphraseSource string `json:"passphrase_source"`
}

// ExportCosign writes key keyID (a full ID or a unique prefix) as cosign's encrypted key file
// output (e.g. "cosign.key", mode 0600) and its public key beside it (output with its extension
// replaced by ".pub"), as `keytool key export --format cosign`. The cosign file is sealed under
// the passphrase that opens the key (pass is asked for it, Request.New false; with none, a
// passphrase keytool stores for the key is used): COSIGN_PASSWORD then has to give it. A key
// stored unencrypted is ErrInvalidArgument. Existing files are ErrAlreadyExists unless
// overwrite; on any failure nothing new is left behind.
func (ks *Keystore) ExportCosign(keyID, output string, overwrite bool, pass PassphraseFunc) (*CosignExport, error) {
	cid, cout := cString(keyID), cString(output)
	defer freeCStrings(cid, cout)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_keystore_export_cosign(p, cid, cout, C.bool(overwrite), cb, ud, &out, &cerr)
		})
	})
	var r CosignExport
	if err := decodeReport(st, cerr, cause, out, "cosign export report", &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// NotationOptions select where and how ExportNotation writes.
type NotationOptions struct {
	// ConfigDir is notation's configuration directory (required; on Linux
	// $XDG_CONFIG_HOME/notation, else ~/.config/notation).
	ConfigDir string
	// Name is the key's name in notation (`notation sign --key NAME`); "" means
	// "keytool-<first 12 hex digits of the key ID>".
	Name string
	// Validity is the certificate's validity; 0 means 3650 days. It is counted in whole seconds.
	Validity time.Duration
	// Overwrite replaces existing files and an entry of the same name.
	Overwrite bool
}

// NotationExport reports ExportNotation (the JSON object of `keytool --json key export --format
// notation`).
type NotationExport struct {
	// KeyID is the key exported.
	KeyID string `json:"key_id"`
	// Name is the name notation knows the key by.
	Name string `json:"name"`
	// PrivateKey is the unencrypted private key file (PRIVATE KEY PEM, mode 0600).
	PrivateKey string `json:"private_key"`
	// Certificate is the self-signed code-signing certificate (CERTIFICATE PEM).
	Certificate string `json:"certificate"`
	// SigningKeys is notation's signingkeys.json, with the key's entry added.
	SigningKeys string `json:"signing_keys"`
	// DefaultKey is whether the entry became notation's default key (there was none).
	DefaultKey bool `json:"default_key"`
	// ValidDays is the certificate's validity in days.
	ValidDays uint64 `json:"valid_days"`
}

// ExportNotation exports ECDSA key keyID (a full ID or a unique prefix) for notation, as `keytool
// key export --format notation`: the unencrypted key and a self-signed code-signing certificate
// under <ConfigDir>/localkeys/, and the key's entry in <ConfigDir>/signingkeys.json, so that
// `notation sign --key NAME` signs with it. pass is asked for the key's passphrase. Existing
// files, or an entry of the same name, are ErrAlreadyExists unless opts.Overwrite; the files and
// the entry are all written or none.
func (ks *Keystore) ExportNotation(keyID string, opts NotationOptions, pass PassphraseFunc) (*NotationExport, error) {
	if opts.Validity < 0 {
		return nil, &Error{Code: CodeInvalidArgument, Message: "NotationOptions.Validity is negative"}
	}
	if opts.ConfigDir == "" {
		return nil, &Error{Code: CodeInvalidArgument, Message: "NotationOptions.ConfigDir is required: notation's configuration directory"}
	}
	secs := uint64(opts.Validity / time.Second)
	if opts.Validity > 0 && secs == 0 {
		secs = 1
	}
	cid, cdir, cname := cString(keyID), cString(opts.ConfigDir), cOptString(opts.Name)
	defer freeCStrings(cid, cdir, cname)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_keystore_export_notation(p, cid, cdir, cname, C.uint64_t(secs), C.bool(opts.Overwrite), cb, ud, &out, &cerr)
		})
	})
	var r NotationExport
	if err := decodeReport(st, cerr, cause, out, "notation export report", &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// SigstoreOptions select how MigrateSigstore signs.
type SigstoreOptions struct {
	// KeyID signs with this ECDSA key of the trust directory (a full ID or a unique prefix).
	KeyID string
	// Generate signs with a new key (role "sigstore", no repository) written to the trust
	// directory before anything is pushed; pass is asked for its new passphrase. Give exactly
	// one of KeyID and Generate, unless DryRun.
	Generate bool
	// RegistryURL uses this registry (http[s]://host:port) instead of the one the GUN names.
	RegistryURL string
	// RegistryInsecure reaches the registry the GUN names over plain HTTP even when it is not on
	// loopback (not with RegistryURL).
	RegistryInsecure bool
	// DryRun lists what would be signed: nothing is pushed and no key is made.
	DryRun bool
	// PublicKeyOut, when not "", is a file that receives the signing key's public key (PEM, for
	// `cosign verify --key`) before anything is signed.
	PublicKeyOut string
}

// MigratedManifest is one manifest of a migration and the tags that name it.
type MigratedManifest struct {
	// Tags are the tags that the verified trust data signs as this manifest.
	Tags []string `json:"tags"`
	// Digest is "sha256:<64 hex>".
	Digest string `json:"digest"`
	// Size is its size in bytes, as signed.
	Size uint64 `json:"size"`
	// Outcome is "signed", "already_signed" (this key's signature was there; nothing pushed),
	// "would_sign" (a dry run) or "not_in_registry" (the registry does not hold it: not signed).
	Outcome string `json:"outcome"`
	// SignatureTag is the signature's tag in the registry ("sha256-<hex>.sig").
	SignatureTag string `json:"signature_tag"`
}

// SigstoreMigration reports MigrateSigstore (the JSON object of `keytool --json migrate
// sigstore`).
type SigstoreMigration struct {
	// GUN is the repository.
	GUN string `json:"gun"`
	// Reference is the image reference signed (docker-reference in each payload).
	Reference string `json:"reference"`
	// Registry is the registry written to.
	Registry string `json:"registry"`
	// KeyID is the signing key (nil for a dry run).
	KeyID *string `json:"key_id"`
	// Generated is whether the key was generated by this call.
	Generated bool `json:"generated"`
	// PublicKey is the signing key's public key (PUBLIC KEY PEM; nil for a dry run).
	PublicKey *string `json:"public_key"`
	// Manifests are every manifest, in digest order.
	Manifests []MigratedManifest `json:"manifests"`
}

// NotInRegistry counts the manifests the registry does not hold (not signed): the CLI exits 1
// when there is one.
func (m *SigstoreMigration) NotInRegistry() int {
	n := 0
	for _, manifest := range m.Manifests {
		if manifest.Outcome == "not_in_registry" {
			n++
		}
	}
	return n
}

// MigrateSigstore gives every tag that repository gun's verified trust data on server signs
// (targets and the signer roles) a cosign signature in the registry, as `keytool migrate
// sigstore`, so that the signatures outlive the Notary server. Nothing that failed verification
// is signed; a manifest the registry does not hold is reported (Outcome "not_in_registry"), not
// signed, and is not an error; a signature this key already made is kept, others' stay beside
// it. A registry that asks for a token gets one with the process's DOCKER_CONFIG credentials.
// A repository the server does not have is ErrInvalidArgument. server is required.
func (ks *Keystore) MigrateSigstore(gun string, opts SigstoreOptions, server *Server, pass PassphraseFunc) (*SigstoreMigration, error) {
	if opts.KeyID == "" && !opts.Generate && !opts.DryRun {
		return nil, &Error{Code: CodeInvalidArgument, Message: "MigrateSigstore signs with a key: set SigstoreOptions.KeyID or Generate (or DryRun)"}
	}
	curl, cca, err := requiredServer(server, "MigrateSigstore")
	if err != nil {
		return nil, err
	}
	cgun, cid := cString(gun), cOptString(opts.KeyID)
	cregistry, cpub := cOptString(opts.RegistryURL), cOptString(opts.PublicKeyOut)
	defer freeCStrings(cgun, cid, cregistry, cpub, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_repo_migrate_sigstore(p, cgun, cid, C.bool(opts.Generate), cregistry, C.bool(opts.RegistryInsecure),
				C.bool(opts.DryRun), cpub, curl, cca, cb, ud, &out, &cerr)
		})
	})
	var r SigstoreMigration
	if err := decodeReport(st, cerr, cause, out, "sigstore migration report", &r); err != nil {
		return nil, err
	}
	return &r, nil
}
