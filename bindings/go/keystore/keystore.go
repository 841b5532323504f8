package keystore

/*
#include <stdlib.h>
#include "kt_ffi.h"
*/
import "C"

import (
	"encoding/json"
	"runtime"
	"sync"
	"time"
	"unsafe"
)

// Keystore is an open trust directory (docker's is ~/.docker/trust): the private/ keys and tuf/
// metadata that docker and notary use. It is safe for concurrent use by many goroutines; every
// change takes an exclusive lock on the directory (also against other processes such as the
// keytool CLI). Close it when done; a finalizer closes a forgotten one, but only as a safety net.
type Keystore struct {
	mu sync.RWMutex
	p  *C.kt_keystore
}

// Open opens the trust directory at dir. Nothing is created until a key is written.
func Open(dir string) (*Keystore, error) {
	cdir := cString(dir)
	defer freeCStrings(cdir)
	var p *C.kt_keystore
	var cerr *C.kt_error
	if err := toError(C.kt_keystore_open(cdir, &p, &cerr), cerr, nil); err != nil {
		return nil, err
	}
	ks := &Keystore{p: p}
	runtime.SetFinalizer(ks, (*Keystore).Close)
	return ks, nil
}

// Close releases the keystore. It is idempotent, and waits for calls in progress. Keys loaded
// from the keystore stay usable.
func (ks *Keystore) Close() error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.p == nil {
		return nil
	}
	runtime.SetFinalizer(ks, nil)
	C.kt_keystore_free(ks.p)
	ks.p = nil
	return nil
}

// use runs f with the live C handle under the read lock; it panics after Close.
func (ks *Keystore) use(f func(p *C.kt_keystore)) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	if ks.p == nil {
		panic("keystore: Keystore used after Close")
	}
	maybeGC()
	f(ks.p)
	runtime.KeepAlive(ks)
}

// Generate creates a new ECDSA P-256 key for role ("root", "targets", "snapshot", a delegation
// such as "targets/releases") and repository gun (required for targets and snapshot keys, empty
// for the others; a GUN docker cannot use and a near miss of a role name are ErrInvalidArgument,
// with the likely fix in the message), encrypted with a new passphrase from pass (Request.New is true), and writes it
// where docker and notary find it. It returns the new key ID.
func (ks *Keystore) Generate(role, gun string, pass PassphraseFunc) (string, error) {
	crole, cgun := cString(role), cOptString(gun)
	defer freeCStrings(crole, cgun)
	var id *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) { st = C.kt_key_generate(p, crole, cgun, cb, ud, &id, &cerr) })
	})
	if err := toError(st, cerr, cause); err != nil {
		return "", err
	}
	return takeString(id), nil
}

// KeyInfo is one key file as listed (nothing is decrypted).
type KeyInfo struct {
	// ID is the key ID the file name claims.
	ID string `json:"id"`
	// Role is the role ("" when the file has none, as notary lists it).
	Role string `json:"role"`
	// GUN is the repository, for repository keys.
	GUN *string `json:"gun"`
	// Algorithm is "ecdsa", "rsa" or "ed25519", when it can be told without decrypting.
	Algorithm *string `json:"algorithm"`
	// Encrypted is whether the key is encrypted at rest.
	Encrypted bool `json:"encrypted"`
	// Path is the file.
	Path string `json:"path"`
	// Location is "flat" (private/<id>.key, where notary and docker look), "legacy", "nested"
	// or "retired".
	Location string `json:"location"`
	// Problem says why the file cannot be used, if it cannot.
	Problem *string `json:"problem"`
}

// List lists the keys, optionally only those of role and/or repository gun ("" for no filter).
// No passphrase is needed.
func (ks *Keystore) List(role, gun string) ([]KeyInfo, error) {
	crole, cgun := cOptString(role), cOptString(gun)
	defer freeCStrings(crole, cgun)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	ks.use(func(p *C.kt_keystore) { st = C.kt_keystore_list_json(p, crole, cgun, &out, &cerr) })
	var keys []KeyInfo
	if err := decodeReport(st, cerr, nil, out, "key list", &keys); err != nil {
		return nil, err
	}
	return keys, nil
}

// Load decrypts key keyID (a full ID or a unique prefix of at least 4 hex digits) with a
// passphrase from pass, for signing many messages. Close the key when done.
func (ks *Keystore) Load(keyID string, pass PassphraseFunc) (*Key, error) {
	cid := cString(keyID)
	defer freeCStrings(cid)
	var k *C.kt_key
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) { st = C.kt_key_load(p, cid, cb, ud, &k, &cerr) })
	})
	if err := toError(st, cerr, cause); err != nil {
		return nil, err
	}
	return newKey(k), nil
}

// Sign decrypts key keyID with a passphrase from pass, signs message (ECDSA P-256 over SHA-256,
// as notary signs) and forgets the key. It returns the raw 64-byte r‖s signature. To sign many
// messages, Load the key once instead.
func (ks *Keystore) Sign(keyID string, message []byte, pass PassphraseFunc) ([]byte, error) {
	cid := cString(keyID)
	defer freeCStrings(cid)
	sig := make([]byte, C.KT_SIGNATURE_LEN)
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_keystore_sign(p, cid, bytesPtr(message), C.size_t(len(message)), cb, ud, bytesPtr(sig), &cerr)
		})
	})
	runtime.KeepAlive(message)
	if err := toError(st, cerr, cause); err != nil {
		return nil, err
	}
	return sig, nil
}

// ImportOptions are the fallbacks and switches of Import.
type ImportOptions struct {
	// Name names the input in messages ("input" when empty).
	Name string
	// Role and GUN are used for keys whose file has no role:/gun: header.
	Role, GUN string
	// Force replaces a different file stored under the same key ID.
	Force bool
}

// Imported is one imported key.
type Imported struct {
	// ID is the key ID.
	ID string `json:"id"`
	// Role is the key's role.
	Role string `json:"role"`
	// GUN is the repository, for repository keys.
	GUN *string `json:"gun"`
	// Source is where the key came from (ImportOptions.Name).
	Source string `json:"source"`
	// Path is the file in the trust directory.
	Path string `json:"path"`
	// Outcome is "written", "unchanged" or "replaced".
	Outcome string `json:"outcome"`
	// Reencrypted is whether the key was (re-)encrypted in notary's format on the way in.
	Reencrypted bool `json:"reencrypted"`
	// IDVerified is whether keytool decrypted the key and checked its ID (always true).
	IDVerified bool `json:"id_verified"`
}

// Import imports every PEM block of data (a `notary key export` bundle, an encrypted key file or
// an unencrypted PKCS#8 key, encrypted on the way in), asking pass for passphrases it needs.
// Nothing is written unless everything can be imported. data may hold unencrypted keys: wipe it
// after the call.
func (ks *Keystore) Import(data []byte, opts ImportOptions, pass PassphraseFunc) ([]Imported, error) {
	cname, crole, cgun := cOptString(opts.Name), cOptString(opts.Role), cOptString(opts.GUN)
	defer freeCStrings(cname, crole, cgun)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_keystore_import(p, bytesPtr(data), C.size_t(len(data)), cname, crole, cgun,
				C.bool(opts.Force), cb, ud, &out, &cerr)
		})
	})
	runtime.KeepAlive(data)
	var done []Imported
	if err := decodeReport(st, cerr, cause, out, "import report", &done); err != nil {
		return nil, err
	}
	return done, nil
}

// Export returns keys in `notary key export` format (the stored encrypted PEM blocks): the keys
// keyIDs when given, else the keys of repository gun when not "", else every key.
func (ks *Keystore) Export(gun string, keyIDs ...string) ([]byte, error) {
	cgun := cOptString(gun)
	defer freeCStrings(cgun)
	var ids **C.char
	if len(keyIDs) > 0 {
		arr := (*[1 << 20]*C.char)(C.malloc(C.size_t(len(keyIDs)) * C.size_t(unsafe.Sizeof(uintptr(0)))))[:len(keyIDs):len(keyIDs)]
		for i, id := range keyIDs {
			arr[i] = cString(id)
		}
		defer func() {
			freeCStrings(arr...)
			C.free(unsafe.Pointer(&arr[0]))
		}()
		ids = &arr[0]
	}
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	ks.use(func(p *C.kt_keystore) {
		st = C.kt_keystore_export(p, ids, C.size_t(len(keyIDs)), cgun, &out, &cerr)
	})
	if err := toError(st, cerr, nil); err != nil {
		return nil, err
	}
	return []byte(takeString(out)), nil
}

// Passwd changes the passphrase of key keyID: pass is asked for the current passphrase
// (Request.New false), then for the new one (Request.New true). The file is rewritten atomically.
func (ks *Keystore) Passwd(keyID string, pass PassphraseFunc) error {
	cid := cString(keyID)
	defer freeCStrings(cid)
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) { st = C.kt_keystore_passwd(p, cid, cb, ud, &cerr) })
	})
	return toError(st, cerr, cause)
}

// Server names a Notary server: URL is https://host:port; CAFile (optional) a PEM CA file —
// without it, docker's $DOCKER_CONFIG/tls/<host:port>/ca.crt when it exists, else the system's
// trust store.
type Server struct {
	URL    string
	CAFile string
}

// Init prepares repository gun as `keytool init` does: it reuses (or generates) the root key and
// the repository's targets key and, with a server, publishes the repository's trust data signed
// by them, so that the next `docker push` signs with them. localSnapshot keeps the snapshot key
// local (notary init's way) instead of on the server (docker's way). A repository already on the
// server is verified and left unchanged. The result is the JSON object `keytool --json init`
// prints, decoded into a generic map.
func (ks *Keystore) Init(gun string, server *Server, localSnapshot bool, pass PassphraseFunc) (map[string]interface{}, error) {
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
			st = C.kt_repo_init(p, cgun, curl, cca, C.bool(localSnapshot), cb, ud, &out, &cerr)
		})
	})
	var m map[string]interface{}
	if err := decodeReport(st, cerr, cause, out, "init report", &m); err != nil {
		return nil, err
	}
	return m, nil
}

// RotateOptions select what Rotate does.
type RotateOptions struct {
	// Role is "targets" (the default), "snapshot" or "root".
	Role string
	// Server is the Notary server the repository is published on; nil for a repository not yet
	// published (local rotation).
	Server *Server
	// ServerManaged (snapshot only) moves the snapshot key to the server.
	ServerManaged bool
	// DryRun only reports the plan.
	DryRun bool
}

// Rotated reports a rotation (the JSON object of `keytool --json rotate`).
type Rotated struct {
	// GUN is the repository.
	GUN string `json:"gun"`
	// Role is the role rotated: "targets", "snapshot" or "root".
	Role string `json:"role"`
	// OldKey is the ID of the key that was replaced, if there was one.
	OldKey *string `json:"old_key"`
	// NewKey is the ID of the new key (nil for a dry run).
	NewKey *string `json:"new_key"`
	// ServerManaged is whether the new key is held by the server.
	ServerManaged bool `json:"server_managed"`
	// Published is whether the rotation was published to the server (else: local only).
	Published bool `json:"published"`
	// RootVersion is the new root.json version, for published rotations.
	RootVersion *uint64 `json:"root_version"`
	// Retired is where the old key went (nil when it stays: server keys, or a root key still
	// used).
	Retired *string `json:"retired"`
	// OldRootStillUsedBy lists, for a root rotation, the other repositories whose cached
	// root.json still names the old root key, which therefore stays in private/.
	OldRootStillUsedBy []string `json:"old_root_still_used_by"`
	// Resumed is whether an interrupted rotation was completed.
	Resumed bool `json:"resumed"`
	// DryRun is whether this was only a plan.
	DryRun bool `json:"dry_run"`
	// NewPassphraseStoredIn names the store (OS keyring, vault) that holds the new key's
	// generated or adopted passphrase, when the old key's passphrase was stored.
	NewPassphraseStoredIn *string `json:"new_passphrase_stored_in"`
	// OldPassphraseKeptIn names the store where the old key's stored passphrase stays (under the
	// old key's ID, so that the retired key can still be opened).
	OldPassphraseKeptIn *string `json:"old_passphrase_kept_in"`
}

// Rotate replaces a key of repository gun crash-safely, as `keytool rotate`: the old key is
// retired only after the server accepted the new one, and an interrupted rotation is completed.
// pass is asked for the new key's passphrase and, for a published repository, the root key's.
func (ks *Keystore) Rotate(gun string, opts RotateOptions, pass PassphraseFunc) (*Rotated, error) {
	role := opts.Role
	if role == "" {
		role = "targets"
	}
	var url, ca string
	if opts.Server != nil {
		url, ca = opts.Server.URL, opts.Server.CAFile
	}
	cgun, crole, curl, cca := cString(gun), cString(role), cOptString(url), cOptString(ca)
	defer freeCStrings(cgun, crole, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_repo_rotate(p, cgun, crole, curl, cca, C.bool(opts.ServerManaged), C.bool(opts.DryRun), cb, ud, &out, &cerr)
		})
	})
	var r Rotated
	if err := decodeReport(st, cerr, cause, out, "rotation report", &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// RenewOptions select what Renew does.
type RenewOptions struct {
	// Role is "targets" (the default), "root", "snapshot" or a signer role ("targets/releases",
	// "targets/alice"). The timestamp, and a snapshot whose key the server holds, are always
	// renewed by the Notary server itself.
	Role string
	// AllRoles renews root, targets, every signer role whose key is local and (when its key is
	// local) snapshot; Role is then ignored.
	AllRoles bool
	// Server is the Notary server the repository is published on (required).
	Server *Server
	// Expires is the new validity from now; 0 means notary's defaults (root 10 years, targets and
	// snapshot 3 years).
	Expires time.Duration
	// DryRun only reports the plan.
	DryRun bool
}

// RenewedRole is one role of a renewal: its state before and after.
type RenewedRole struct {
	// Role is "root", "targets" or "snapshot".
	Role string `json:"role"`
	// Version is the version the server had.
	Version uint64 `json:"version"`
	// Expires is its expiry (RFC 3339).
	Expires string `json:"expires"`
	// NewVersion is the version published (nil in a plan).
	NewVersion *uint64 `json:"new_version"`
	// NewExpires is the new expiry (in a plan the one it would get; nil for a server-signed
	// snapshot in a plan).
	NewExpires *string `json:"new_expires"`
	// SignedByServer is whether the Notary server signs it (a server-held snapshot).
	SignedByServer bool `json:"signed_by_server"`
	// Requested is whether it was asked for (else it is re-signed because it lists the hashes of
	// a renewed role).
	Requested bool `json:"requested"`
}

// RenewedCertificate is the root certificate of a root renewal.
type RenewedCertificate struct {
	// ID is the certificate's key ID as root.json lists it.
	ID string `json:"id"`
	// Expires is when it expires.
	Expires string `json:"expires"`
	// Renewed is whether it is replaced (it expires before the new root.json would).
	Renewed bool `json:"renewed"`
	// NewID is the new certificate's key ID (same private key), when replaced.
	NewID *string `json:"new_id"`
	// NewExpires is when the new certificate expires, when replaced.
	NewExpires *string `json:"new_expires"`
}

// Renewed reports a renewal (the JSON object of `keytool --json renew`).
type Renewed struct {
	// GUN is the repository.
	GUN string `json:"gun"`
	// Server is the Notary server.
	Server string `json:"server"`
	// Roles are the roles re-signed, in publishing order.
	Roles []RenewedRole `json:"roles"`
	// RootCertificate is the root certificate, when root is renewed.
	RootCertificate *RenewedCertificate `json:"root_certificate"`
	// RenewedByServer names what the Notary server renews by itself.
	RenewedByServer []string `json:"renewed_by_server"`
	// Published is whether the new metadata was published.
	Published bool `json:"published"`
	// Resumed is whether an interrupted renewal was completed.
	Resumed bool `json:"resumed"`
	// DryRun is whether this was only a plan.
	DryRun bool `json:"dry_run"`
}

// decodeReport returns the error of a call, or decodes the JSON result out (which it frees) into
// into; what names the result in the error of a result that does not decode.
func decodeReport(st C.kt_status, cerr *C.kt_error, cause error, out *C.char, what string, into interface{}) error {
	if err := toError(st, cerr, cause); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(takeString(out)), into); err != nil {
		return &Error{Code: CodeInternal, Message: "cannot parse the " + what + ": " + err.Error()}
	}
	return nil
}

// Renew re-signs repository gun's metadata with a new expiry and no change of content and
// publishes it, as `keytool renew`: crash-safe (an interrupted renewal is completed by the next
// call), and only on top of metadata verified from the root this machine trusts. A root renewal
// also replaces a root certificate that expires before the new root.json (same key). pass is
// asked for the passphrases of the keys that sign.
func (ks *Keystore) Renew(gun string, opts RenewOptions, pass PassphraseFunc) (*Renewed, error) {
	if opts.Expires < 0 {
		return nil, &Error{Code: CodeInvalidArgument, Message: "RenewOptions.Expires is negative"}
	}
	curl, cca, err := requiredServer(opts.Server, "Renew")
	if err != nil {
		return nil, err
	}
	cgun, crole := cString(gun), cOptString(opts.Role)
	defer freeCStrings(cgun, crole, curl, cca)
	secs := uint64(opts.Expires / time.Second)
	if opts.Expires > 0 && secs == 0 {
		secs = 1
	}
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_repo_renew(p, cgun, crole, C.bool(opts.AllRoles), C.uint64_t(secs), curl, cca, C.bool(opts.DryRun), cb, ud, &out, &cerr)
		})
	})
	var r Renewed
	if err := decodeReport(st, cerr, cause, out, "renewal report", &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Status returns the state of repository gun as the JSON object of `keytool --json status`
// (asking server when not nil), decoded into a generic map.
func (ks *Keystore) Status(gun string, server *Server) (map[string]interface{}, error) {
	var url, ca string
	if server != nil {
		url, ca = server.URL, server.CAFile
	}
	cgun, curl, cca := cString(gun), cOptString(url), cOptString(ca)
	defer freeCStrings(cgun, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	ks.use(func(p *C.kt_keystore) { st = C.kt_repo_status_json(p, cgun, curl, cca, &out, &cerr) })
	var m map[string]interface{}
	if err := decodeReport(st, cerr, nil, out, "status", &m); err != nil {
		return nil, err
	}
	return m, nil
}
