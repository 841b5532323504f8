// Command consumer is a Go program outside the keytool repository, as a user of the installed
// library writes it: its own module requires example.invalid/keytool/bindings/go through a
// `replace` (tests/peers/c-consumer.sh copies it to a temporary directory and builds it with
// PKG_CONFIG_PATH naming the installed keytool.pc). It generates a root key in TRUST_DIR, loads
// it, signs a message and verifies the signature with crypto/ecdsa.
//
// Usage: consumer TRUST_DIR
package main

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"math/big"
	"os"

	"example.invalid/keytool/bindings/go/keystore"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "go consumer:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 2 {
		return fmt.Errorf("usage: %s TRUST_DIR", os.Args[0])
	}
	ks, err := keystore.Open(os.Args[1])
	if err != nil {
		return err
	}
	defer ks.Close()
	pass := keystore.Passphrase([]byte("consumer-passphrase"))
	id, err := ks.Generate("root", "", pass)
	if err != nil {
		return err
	}
	key, err := ks.Load(id, pass)
	if err != nil {
		return err
	}
	defer key.Close()
	msg := []byte("signed by a Go module outside the keytool repository")
	sig, err := key.Sign(msg)
	if err != nil {
		return err
	}
	der, err := key.PublicKey()
	if err != nil {
		return err
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return err
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || len(sig) != 64 {
		return fmt.Errorf("unexpected key type %T or signature length %d", pub, len(sig))
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	digest := sha256.Sum256(msg)
	if !ecdsa.Verify(ec, digest[:], r, s) {
		return fmt.Errorf("the signature of key %s does not verify", id)
	}
	tampered := sha256.Sum256(append(msg, '!'))
	if ecdsa.Verify(ec, tampered[:], r, s) {
		return fmt.Errorf("the signature verifies a different message")
	}
	fmt.Printf("go consumer: kt_ffi %s: root key %s signed, signature verified\n", keystore.Version(), id)
	return nil
}
