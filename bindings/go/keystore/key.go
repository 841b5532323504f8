package keystore

/*
#include "kt_ffi.h"
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// Key is a decrypted private key, from (*Keystore).Load. It is safe for concurrent use by many
// goroutines. Close wipes the secret; a finalizer closes a forgotten key, but only as a safety
// net: close keys explicitly.
type Key struct {
	mu   sync.RWMutex
	p    *C.kt_key
	id   string
	role string
	gun  string
}

func newKey(p *C.kt_key) *Key {
	k := &Key{
		p:    p,
		id:   C.GoString(C.kt_key_id(p)),
		role: C.GoString(C.kt_key_role(p)),
		gun:  goOptString(C.kt_key_gun(p)),
	}
	runtime.SetFinalizer(k, (*Key).Close)
	return k
}

// ID is the key ID (64 hex digits).
func (k *Key) ID() string { return k.id }

// Role is the key's role ("root", "targets", ...).
func (k *Key) Role() string { return k.role }

// GUN is the key's repository, "" for keys without one.
func (k *Key) GUN() string { return k.gun }

// Close wipes and frees the key. It is idempotent and waits for signatures in progress.
func (k *Key) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.p == nil {
		return nil
	}
	runtime.SetFinalizer(k, nil)
	C.kt_key_free(k.p)
	k.p = nil
	return nil
}

func (k *Key) use(f func(p *C.kt_key)) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.p == nil {
		panic("keystore: Key used after Close")
	}
	maybeGC()
	f(k.p)
	runtime.KeepAlive(k)
}

// PublicKey returns the public key as DER SubjectPublicKeyInfo (x509.ParsePKIXPublicKey reads
// it).
func (k *Key) PublicKey() ([]byte, error) {
	var p *C.uint8_t
	var n C.size_t
	var st C.kt_status
	var cerr *C.kt_error
	k.use(func(kp *C.kt_key) { st = C.kt_key_public_spki(kp, &p, &n, &cerr) })
	if err := toError(st, cerr, nil); err != nil {
		return nil, err
	}
	spki := C.GoBytes(unsafe.Pointer(p), C.int(n))
	C.kt_bytes_free(p, n)
	return spki, nil
}

// Sign signs message (ECDSA P-256 over SHA-256, as notary signs) and returns the raw 64-byte
// r‖s signature. The nonce is fresh each time (hedged), so two signatures of one message differ.
func (k *Key) Sign(message []byte) ([]byte, error) {
	sig := make([]byte, C.KT_SIGNATURE_LEN)
	var st C.kt_status
	var cerr *C.kt_error
	k.use(func(kp *C.kt_key) {
		st = C.kt_key_sign(kp, bytesPtr(message), C.size_t(len(message)), bytesPtr(sig), &cerr)
	})
	runtime.KeepAlive(message)
	if err := toError(st, cerr, nil); err != nil {
		return nil, err
	}
	return sig, nil
}
