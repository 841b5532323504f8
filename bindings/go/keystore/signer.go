package keystore

/*
#include "kt_ffi.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"unsafe"
)

// requiredServer returns the C strings of server for a call that cannot do without it (free
// them with freeCStrings). A nil server, or one without URL, is CodeInvalidArgument: the package
// never passes NULL for a required argument.
func requiredServer(server *Server, call string) (url, ca *C.char, err error) {
	if server == nil || server.URL == "" {
		return nil, nil, &Error{Code: CodeInvalidArgument, Message: call + " talks to a Notary server: a Server with a URL is required"}
	}
	return cString(server.URL), cOptString(server.CAFile), nil
}

// SignerKeyInfo is one key of a signer.
type SignerKeyInfo struct {
	// ID is the key ID, as targets.json lists it (and `docker trust inspect` shows it).
	ID string `json:"id"`
	// Local is whether this trust directory holds the private key.
	Local bool `json:"local"`
}

// SignerInfo is one signer of a repository.
type SignerInfo struct {
	// Name is the signer's name ("alice" for the role targets/alice).
	Name string `json:"name"`
	// Keys are its keys.
	Keys []SignerKeyInfo `json:"keys"`
	// Threshold is how many of its keys must sign.
	Threshold uint64 `json:"threshold"`
	// CanRelease is whether every key of the signer is also a key of targets/releases (so what
	// it signs changes what `docker pull` pulls).
	CanRelease bool `json:"can_release"`
	// SignedTags is how many tags its own role (targets/<name>) signs.
	SignedTags int `json:"signed_tags"`
}

// Signers lists a repository's signers (the JSON object of `keytool --json signer list`).
type Signers struct {
	// GUN is the repository.
	GUN string `json:"gun"`
	// Signers are the signers, by name.
	Signers []SignerInfo `json:"signers"`
	// ReleaseKeys are the keys of targets/releases (empty when there is no such delegation).
	ReleaseKeys []SignerKeyInfo `json:"release_keys"`
	// ReleasedTags is how many tags targets/releases signs.
	ReleasedTags int `json:"released_tags"`
	// Unverified lists the signer roles whose file no threshold of their current keys signed:
	// their tags do not verify (docker and notary skip them) until they are signed again.
	Unverified []string `json:"unverified"`
}

// Generated is a key generated in the trust directory.
type Generated struct {
	// ID is the key ID (the file name).
	ID string `json:"id"`
	// Role is the key's role (the signer's name, for a signer key).
	Role string `json:"role"`
	// GUN is the repository, for repository keys (nil for a signer key).
	GUN *string `json:"gun"`
	// Path is the key file.
	Path string `json:"path"`
}

// SignerAdded reports SignerAdd (the JSON object of `keytool --json signer add`).
type SignerAdded struct {
	// GUN is the repository.
	GUN string `json:"gun"`
	// Name is the signer.
	Name string `json:"name"`
	// KeyID is the ID of the key added.
	KeyID string `json:"key_id"`
	// Generated is the key file, when the key was generated in the trust directory.
	Generated *Generated `json:"generated"`
	// Already is true when the signer already had this key (nothing was published).
	Already bool `json:"already"`
	// TargetsVersion is targets.json's version now.
	TargetsVersion uint64 `json:"targets_version"`
}

// SignerRemoved reports SignerRemove (the JSON object of `keytool --json signer remove`).
type SignerRemoved struct {
	// GUN is the repository.
	GUN string `json:"gun"`
	// Name is the signer.
	Name string `json:"name"`
	// Keys are the signer's key IDs, no longer trusted for this repository (their files stay).
	Keys []string `json:"keys"`
	// OrphanedTags is how many tags targets/releases signs that no remaining key signed:
	// `docker pull` refuses them until someone signs them again.
	OrphanedTags int `json:"orphaned_tags"`
	// TargetsVersion is targets.json's version now.
	TargetsVersion uint64 `json:"targets_version"`
}

// KeptKey is an old signer key that a rotation kept in private/ because other repositories'
// metadata still names it. Rust sends it as the pair [id, uses].
type KeptKey struct {
	// ID is the key ID.
	ID string
	// Uses are where the trust directory's cached metadata names the key ("the targets key of
	// G", "a key of delegation targets/releases of G", ...).
	Uses []string
}

// UnmarshalJSON decodes the [id, uses] pair, and nothing else.
func (k *KeptKey) UnmarshalJSON(data []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(data, &pair); err != nil {
		return err
	}
	if len(pair) != 2 {
		return fmt.Errorf("a kept key is an [id, uses] pair, not %d items", len(pair))
	}
	if err := json.Unmarshal(pair[0], &k.ID); err != nil {
		return err
	}
	return json.Unmarshal(pair[1], &k.Uses)
}

// SignerRotated reports SignerRotate (the JSON object of `keytool --json rotate --signer`).
type SignerRotated struct {
	// GUN is the repository.
	GUN string `json:"gun"`
	// Name is the signer.
	Name string `json:"name"`
	// OldKeys are the IDs of the keys replaced, as targets.json listed them.
	OldKeys []string `json:"old_keys"`
	// NewKey is the new key's ID.
	NewKey string `json:"new_key"`
	// Resigned are the signer's roles re-signed by the new key (content unchanged).
	Resigned []string `json:"resigned"`
	// Retired are the IDs of the old keys whose files moved to keytool-retired/.
	Retired []string `json:"retired"`
	// Kept are the old keys kept in private/ because other repositories still name them.
	Kept []KeptKey `json:"kept"`
	// Resumed is whether an interrupted rotation was completed.
	Resumed bool `json:"resumed"`
}

// SignedTag reports SignTag (the JSON object of `keytool --json sign`).
type SignedTag struct {
	// GUN is the repository.
	GUN string `json:"gun"`
	// Tag is the tag.
	Tag string `json:"tag"`
	// Digest is the manifest digest ("sha256:<64 hex>").
	Digest string `json:"digest"`
	// Size is the manifest's size in bytes.
	Size uint64 `json:"size"`
	// Roles are the roles the tag was signed into ("targets", "targets/releases", ...).
	Roles []string `json:"roles"`
	// Replaced is the digest the tag had before in the first of those roles, if another.
	Replaced *string `json:"replaced"`
	// Already is true when every role already signed exactly this (nothing was published).
	Already bool `json:"already"`
	// CheckedRegistry is the registry asked, if one was.
	CheckedRegistry *string `json:"checked_registry"`
}

// UnsignedTag reports UnsignTag (the JSON object of `keytool --json unsign`).
type UnsignedTag struct {
	// GUN is the repository.
	GUN string `json:"gun"`
	// Tag is the tag.
	Tag string `json:"tag"`
	// Roles are the roles it was removed from.
	Roles []string `json:"roles"`
}

// SignerAdd adds signer name to repository gun, as `keytool signer add` (docker's `trust signer
// add`): the key joins targets/<name> and targets/releases. publicKeyPEM is the signer's P-256
// public key (a PEM PUBLIC KEY block); nil generates the key in the trust directory (pass is
// asked for its new passphrase). pass is also asked for the targets key's passphrase. server is
// required.
func (ks *Keystore) SignerAdd(gun, name string, publicKeyPEM []byte, server *Server, pass PassphraseFunc) (*SignerAdded, error) {
	curl, cca, err := requiredServer(server, "SignerAdd")
	if err != nil {
		return nil, err
	}
	cgun, cname := cString(gun), cString(name)
	var cpem *C.char
	if publicKeyPEM != nil {
		cpem = cString(string(publicKeyPEM))
	}
	defer freeCStrings(cgun, cname, cpem, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_signer_add(p, cgun, cname, cpem, curl, cca, cb, ud, &out, &cerr)
		})
	})
	var r SignerAdded
	if err := decodeReport(st, cerr, cause, out, "signer report", &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// SignerRemove removes signer name from repository gun, as `keytool signer remove`. When that
// would leave released tags that no trusted key signed, it fails with CodeInvalidArgument and
// changes nothing unless confirmed. The signer's key file stays. server is required.
func (ks *Keystore) SignerRemove(gun, name string, confirmed bool, server *Server, pass PassphraseFunc) (*SignerRemoved, error) {
	curl, cca, err := requiredServer(server, "SignerRemove")
	if err != nil {
		return nil, err
	}
	cgun, cname := cString(gun), cString(name)
	defer freeCStrings(cgun, cname, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_signer_remove(p, cgun, cname, C.bool(confirmed), curl, cca, cb, ud, &out, &cerr)
		})
	})
	var r SignerRemoved
	if err := decodeReport(st, cerr, cause, out, "signer report", &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// SignerList lists the signers of repository gun as its verified metadata names them. server is
// required.
func (ks *Keystore) SignerList(gun string, server *Server) (*Signers, error) {
	curl, cca, err := requiredServer(server, "SignerList")
	if err != nil {
		return nil, err
	}
	cgun := cString(gun)
	defer freeCStrings(cgun, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	ks.use(func(p *C.kt_keystore) { st = C.kt_signer_list_json(p, cgun, curl, cca, &out, &cerr) })
	var r Signers
	if err := decodeReport(st, cerr, nil, out, "signer list", &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// SignerRotate replaces signer name's key in repository gun crash-safely, as `keytool rotate
// --signer`: what the signer signed is re-signed by the new key, and the old key is retired only
// after the server accepted. pass is asked for the new key's and the targets key's passphrases.
// server is required.
func (ks *Keystore) SignerRotate(gun, name string, server *Server, pass PassphraseFunc) (*SignerRotated, error) {
	curl, cca, err := requiredServer(server, "SignerRotate")
	if err != nil {
		return nil, err
	}
	cgun, cname := cString(gun), cString(name)
	defer freeCStrings(cgun, cname, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_signer_rotate(p, cgun, cname, curl, cca, cb, ud, &out, &cerr)
		})
	})
	var r SignerRotated
	if err := decodeReport(st, cerr, cause, out, "signer rotation report", &r); err != nil {
		return nil, err
	}
	return &r, nil
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
// credentials, and credentials it refuses fail with ErrAuthenticationFailed. server is required.
func (ks *Keystore) SignTag(gun, tag, digest string, size uint64, opts SignOptions, server *Server, pass PassphraseFunc) (*SignedTag, error) {
	curl, cca, err := requiredServer(server, "SignTag")
	if err != nil {
		return nil, err
	}
	cgun, ctag, cdigest := cString(gun), cString(tag), cString(digest)
	csigner, cregistry := cOptString(opts.Signer), cOptString(opts.RegistryURL)
	defer freeCStrings(cgun, ctag, cdigest, csigner, cregistry, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_sign(p, cgun, ctag, cdigest, C.uint64_t(size), csigner, C.bool(!opts.NoCheck), cregistry, curl, cca, cb, ud, &out, &cerr)
		})
	})
	var r SignedTag
	if err := decodeReport(st, cerr, cause, out, "sign report", &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// UnsignTag removes tag's signature from repository gun (only signer's roles when signer is not
// ""), as `keytool unsign`, and publishes. server is required.
func (ks *Keystore) UnsignTag(gun, tag, signer string, server *Server, pass PassphraseFunc) (*UnsignedTag, error) {
	curl, cca, err := requiredServer(server, "UnsignTag")
	if err != nil {
		return nil, err
	}
	cgun, ctag, csigner := cString(gun), cString(tag), cOptString(signer)
	defer freeCStrings(cgun, ctag, csigner, curl, cca)
	var out *C.char
	var st C.kt_status
	var cerr *C.kt_error
	cause := withCallback(pass, func(cb C.kt_passphrase_cb, ud unsafe.Pointer) {
		ks.use(func(p *C.kt_keystore) {
			st = C.kt_unsign(p, cgun, ctag, csigner, curl, cca, cb, ud, &out, &cerr)
		})
	})
	var r UnsignedTag
	if err := decodeReport(st, cerr, cause, out, "unsign report", &r); err != nil {
		return nil, err
	}
	return &r, nil
}
