package keystore

/*
#include "kt_ffi.h"
*/
import "C"

import (
	"encoding/json"
	"unsafe"
)

// serverStrings are the C strings of a server (NULL for what is not given); free them with
// freeCStrings.
func serverStrings(server *Server) (*C.char, *C.char) {
	var url, ca string
	if server != nil {
		url, ca = server.URL, server.CAFile
	}
	return cOptString(url), cOptString(ca)
}

// reportOf decodes the JSON report of a call into a generic map.
func reportOf(st C.kt_status, cerr *C.kt_error, cause error, out *C.char, what string) (map[string]interface{}, error) {
	if err := toError(st, cerr, cause); err != nil {
		return nil, err
	}
	var m map[string]interface{}
	if err := json.Unmarshal([]byte(takeString(out)), &m); err != nil {
		return nil, &Error{Code: CodeInternal, Message: "cannot parse the " + what + " report: " + err.Error()}
	}
	return m, nil
}

// SignerAdd adds signer name to repository gun, as `keytool signer add` (docker's `trust signer
// add`): the key joins targets/<name> and targets/releases. publicKeyPEM is the signer's P-256
// public key (a PEM PUBLIC KEY block); nil generates the key in the trust directory (pass is
// asked for its new passphrase). pass is also asked for the targets key's passphrase. The result
// is the JSON object `keytool --json signer add` prints (key_id, already, ...).
func (ks *Keystore) SignerAdd(gun, name string, publicKeyPEM []byte, server *Server, pass PassphraseFunc) (map[string]interface{}, error) {
	cgun, cname := cString(gun), cString(name)
	var cpem *C.char
	if publicKeyPEM != nil {
		cpem = cString(string(publicKeyPEM))
	}
	curl, cca := serverStrings(server)
	defer freeCStrings(cgun, cname, cpem, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_signer_add(p, cgun, cname, cpem, curl, cca, cb, ud, &out, &cerr)
		})
	})
	return reportOf(st, cerr, cause, out, "signer")
}

// SignerRemove removes signer name from repository gun, as `keytool signer remove`. When that
// would leave released tags that no trusted key signed, it fails with CodeInvalidArgument and
// changes nothing unless confirmed. The signer's key file stays.
func (ks *Keystore) SignerRemove(gun, name string, confirmed bool, server *Server, pass PassphraseFunc) (map[string]interface{}, error) {
	cgun, cname := cString(gun), cString(name)
	curl, cca := serverStrings(server)
	defer freeCStrings(cgun, cname, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_signer_remove(p, cgun, cname, C.bool(confirmed), curl, cca, cb, ud, &out, &cerr)
		})
	})
	return reportOf(st, cerr, cause, out, "signer")
}

// SignerList lists the signers of repository gun as its verified metadata names them (the JSON
// object of `keytool --json signer list`).
func (ks *Keystore) SignerList(gun string, server *Server) (map[string]interface{}, error) {
	cgun := cString(gun)
	curl, cca := serverStrings(server)
	defer freeCStrings(cgun, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	ks.use(func(p *C.kt_keystore) { st = C.kt_signer_list_json(p, cgun, curl, cca, &out, &cerr) })
	return reportOf(st, cerr, nil, out, "signer list")
}

// SignerRotate replaces signer name's key in repository gun crash-safely, as `keytool rotate
// --signer`: what the signer signed is re-signed by the new key, and the old key is retired only
// after the server accepted. pass is asked for the new key's and the targets key's passphrases.
func (ks *Keystore) SignerRotate(gun, name string, server *Server, pass PassphraseFunc) (map[string]interface{}, error) {
	cgun, cname := cString(gun), cString(name)
	curl, cca := serverStrings(server)
	defer freeCStrings(cgun, cname, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_signer_rotate(p, cgun, cname, curl, cca, cb, ud, &out, &cerr)
		})
	})
	return reportOf(st, cerr, cause, out, "signer rotation")
}

// SignOptions select how SignTag signs.
type SignOptions struct {
	// Signer signs only into this signer's roles ("": every signer role with a local key).
	Signer string
	// NoCheck signs without asking the registry whether it holds the manifest.
	NoCheck bool
	// RegistryURL asks this registry (http[s]://host:port) instead of the one the GUN names.
	RegistryURL string
}

// SignTag signs tag of repository gun as manifest digest ("sha256:<64 hex>") of size bytes and
// publishes, as `keytool sign GUN:TAG --digest D --size N`. Unless opts.NoCheck, the registry is
// asked first: a digest it does not hold, or another size, fails with CodeInvalidArgument and
// nothing is signed; a registry that asks for a token gets one with the process's DOCKER_CONFIG
// credentials, and credentials it refuses fail with ErrAuthenticationFailed. The result is the
// JSON object `keytool --json sign` prints (roles, replaced, already, checked_registry, ...).
func (ks *Keystore) SignTag(gun, tag, digest string, size uint64, opts SignOptions, server *Server, pass PassphraseFunc) (map[string]interface{}, error) {
	cgun, ctag, cdigest := cString(gun), cString(tag), cString(digest)
	csigner, cregistry := cOptString(opts.Signer), cOptString(opts.RegistryURL)
	curl, cca := serverStrings(server)
	defer freeCStrings(cgun, ctag, cdigest, csigner, cregistry, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_sign(p, cgun, ctag, cdigest, C.uint64_t(size), csigner, C.bool(!opts.NoCheck), cregistry, curl, cca, cb, ud, &out, &cerr)
		})
	})
	return reportOf(st, cerr, cause, out, "sign")
}

// UnsignTag removes tag's signature from repository gun (only signer's roles when signer is not
// ""), as `keytool unsign`, and publishes.
func (ks *Keystore) UnsignTag(gun, tag, signer string, server *Server, pass PassphraseFunc) (map[string]interface{}, error) {
	cgun, ctag, csigner := cString(gun), cString(tag), cOptString(signer)
	curl, cca := serverStrings(server)
	defer freeCStrings(cgun, ctag, csigner, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_unsign(p, cgun, ctag, csigner, curl, cca, cb, ud, &out, &cerr)
		})
	})
	return reportOf(st, cerr, cause, out, "unsign")
}
