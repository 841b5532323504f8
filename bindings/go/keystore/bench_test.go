package keystore_test

import (
	"testing"

	"example.invalid/keytool/bindings/go/keystore"
)

// BenchmarkTrivialCall measures one cgo round trip into Rust (kt_version) plus the copy of a
// short string: the per-call overhead of the binding. Compare with ffi/benches/overhead.rs.
func BenchmarkTrivialCall(b *testing.B) {
	for i := 0; i < b.N; i++ {
		_ = keystore.Version()
	}
}

// BenchmarkSign signs 256 bytes with a loaded key (kt_key_sign), as Rust's PrivateKey::sign in
// ffi/benches/overhead.rs does.
func BenchmarkSign(b *testing.B) {
	ks, err := keystore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer ks.Close()
	pass := keystore.Passphrase([]byte("bench-passphrase"))
	id, err := ks.Generate("root", "", pass)
	if err != nil {
		b.Fatal(err)
	}
	key, err := ks.Load(id, pass)
	if err != nil {
		b.Fatal(err)
	}
	defer key.Close()
	msg := make([]byte, 256)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := key.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}
