package keystore_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"example.invalid/keytool/bindings/go/keystore"
)

const canary = "go-canary-passphrase-Zq9"

func open(t *testing.T) (*keystore.Keystore, string) {
	t.Helper()
	dir := t.TempDir()
	ks, err := keystore.Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { ks.Close() })
	return ks, dir
}

func verify(t *testing.T, spki, message, sig []byte) bool {
	t.Helper()
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		t.Fatalf("ParsePKIXPublicKey: %v", err)
	}
	digest := sha256.Sum256(message)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(pub.(*ecdsa.PublicKey), digest[:], r, s)
}

func TestVersionAndCodes(t *testing.T) {
	if keystore.Version() == "" {
		t.Fatal("empty version")
	}
	for _, c := range keystore.AllCodes {
		if c.String() == "unknown status" {
			t.Errorf("code %d has no description", int32(c))
		}
	}
	if keystore.Code(12345).String() != "unknown status" {
		t.Error("an unknown code is described")
	}
}

func TestGenerateListSign(t *testing.T) {
	ks, dir := open(t)
	var seen []keystore.Request
	pass := func(r keystore.Request) ([]byte, error) {
		seen = append(seen, r)
		return []byte(canary), nil
	}
	root, err := ks.Generate("root", "", pass)
	if err != nil {
		t.Fatalf("Generate root: %v", err)
	}
	targets, err := ks.Generate("targets", "example.com/go/app", pass)
	if err != nil {
		t.Fatalf("Generate targets: %v", err)
	}
	if len(seen) != 2 || !seen[0].New || seen[0].Role != "root" || seen[0].KeyID != root ||
		seen[1].GUN != "example.com/go/app" || seen[1].Attempt != 0 {
		t.Errorf("callback saw %+v", seen)
	}
	keys, err := ks.List("", "")
	if err != nil || len(keys) != 2 {
		t.Fatalf("List: %v %+v", err, keys)
	}
	only, err := ks.List("targets", "example.com/go/app")
	if err != nil || len(only) != 1 || only[0].ID != targets || !only[0].Encrypted || only[0].Location != "flat" {
		t.Fatalf("List targets: %v %+v", err, only)
	}

	key, err := ks.Load(root[:10], pass)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	defer key.Close()
	if key.ID() != root || key.Role() != "root" || key.GUN() != "" {
		t.Errorf("key %s %s %q", key.ID(), key.Role(), key.GUN())
	}
	spki, err := key.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("signed through Go")
	sig, err := key.Sign(msg)
	if err != nil || len(sig) != 64 {
		t.Fatalf("Sign: %v", err)
	}
	if !verify(t, spki, msg, sig) {
		t.Error("crypto/ecdsa rejects the signature")
	}
	if verify(t, spki, []byte("something else"), sig) {
		t.Error("crypto/ecdsa accepts the signature for another message")
	}
	// Signatures are randomized (hedged nonces): the one-shot signature differs and verifies.
	oneShot, err := ks.Sign(root, msg, pass)
	if err != nil || len(oneShot) != 64 || bytes.Equal(oneShot, sig) || !verify(t, spki, msg, oneShot) {
		t.Errorf("one-shot Sign: %v", err)
	}

	// Leave the signature for Rust's p256 to verify (ffi/tests/go_signature.rs), when asked.
	if out := os.Getenv("KT_GO_SIGNATURE_OUT"); out != "" {
		blob := fmt.Sprintf("%x\n%x\n%x\n", spki, msg, sig)
		if err := os.WriteFile(out, []byte(blob), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// notary lists the keys made through Go.
	if _, err := exec.LookPath("notary"); err != nil {
		if os.Getenv("KEYTOOL_REQUIRE_PEERS") == "1" {
			t.Fatal("notary is not installed and KEYTOOL_REQUIRE_PEERS=1")
		}
		t.Log("notary not installed: skipping the notary key list cross-check")
		return
	}
	cmd := exec.Command("notary", "-d", dir, "key", "list")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("notary key list: %v\n%s", err, out)
	}
	for _, id := range []string{root, targets} {
		if !strings.Contains(string(out), id) {
			t.Errorf("notary key list does not show %s:\n%s", id, out)
		}
	}
	if !strings.Contains(string(out), "example.com/go/app") {
		t.Errorf("notary key list does not show the GUN:\n%s", out)
	}
}

type vaultLocked struct{ vault string }

func (e *vaultLocked) Error() string { return "vault " + e.vault + " is locked" }

func TestCallbackErrorsSurvive(t *testing.T) {
	ks, _ := open(t)
	id, err := ks.Generate("root", "", keystore.Passphrase([]byte(canary)))
	if err != nil {
		t.Fatal(err)
	}

	locked := &vaultLocked{vault: "team"}
	_, err = ks.Load(id, func(keystore.Request) ([]byte, error) { return nil, locked })
	if !errors.Is(err, keystore.ErrCancelled) {
		t.Errorf("want ErrCancelled, got %v", err)
	}
	var typed *vaultLocked
	if !errors.As(err, &typed) || typed.vault != "team" || !errors.Is(err, locked) {
		t.Errorf("the callback's error did not survive: %v", err)
	}
	var kerr *keystore.Error
	if !errors.As(err, &kerr) || kerr.Code != keystore.CodeCancelled {
		t.Errorf("want *Error with CodeCancelled, got %#v", err)
	}

	attempts := 0
	_, err = ks.Load(id, func(r keystore.Request) ([]byte, error) {
		attempts++
		return []byte("wrong"), nil
	})
	if !errors.Is(err, keystore.ErrWrongPassphrase) || attempts != 3 {
		t.Errorf("want ErrWrongPassphrase after 3 attempts, got %v after %d", err, attempts)
	}
	if strings.Contains(err.Error(), canary) || strings.Contains(err.Error(), "wrong\"") {
		t.Errorf("the message shows a passphrase: %v", err)
	}

	_, err = ks.Load(id, func(keystore.Request) ([]byte, error) { return nil, nil })
	if !errors.Is(err, keystore.ErrPassphraseRequired) {
		t.Errorf("want ErrPassphraseRequired, got %v", err)
	}
	_, err = ks.Load(id, nil)
	if !errors.Is(err, keystore.ErrPassphraseRequired) {
		t.Errorf("nil callback: want ErrPassphraseRequired, got %v", err)
	}
	_, err = ks.Load(id, func(keystore.Request) ([]byte, error) { return bytes.Repeat([]byte("x"), 2000), nil })
	if !errors.Is(err, keystore.ErrInvalidArgument) || !strings.Contains(err.Error(), "at most 1024") {
		t.Errorf("too long: got %v", err)
	}
	_, err = ks.Load(strings.Repeat("0", 64), keystore.Passphrase([]byte(canary)))
	if !errors.Is(err, keystore.ErrNotFound) {
		t.Errorf("want ErrNotFound, got %v", err)
	}
	_, err = ks.Generate("targets", "", keystore.Passphrase([]byte(canary)))
	if !errors.Is(err, keystore.ErrInvalidArgument) {
		t.Errorf("targets key without GUN: got %v", err)
	}
	_, err = ks.Generate("root", "", keystore.Passphrase(nil))
	if !errors.Is(err, keystore.ErrWeakPassphrase) {
		t.Errorf("empty passphrase: got %v", err)
	}
}

func TestReturnedPassphraseIsWiped(t *testing.T) {
	ks, _ := open(t)
	var returned []byte
	_, err := ks.Generate("root", "", func(keystore.Request) ([]byte, error) {
		returned = []byte(canary)
		return returned, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(returned, make([]byte, len(canary))) {
		t.Errorf("the returned passphrase was not zeroed: %q", returned)
	}
}

func TestCallbackPanicIsReraised(t *testing.T) {
	ks, _ := open(t)
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(fmt.Sprint(r), "boom") {
			t.Errorf("want the callback's panic, got %v", r)
		}
	}()
	_, _ = ks.Generate("root", "", func(keystore.Request) ([]byte, error) { panic("boom") })
}

func TestImportExportPasswdRotate(t *testing.T) {
	ks, _ := open(t)
	pass := keystore.Passphrase([]byte(canary))
	id, err := ks.Generate("targets", "example.com/go/rot", pass)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := ks.Export("example.com/go/rot")
	if err != nil || !bytes.Contains(bundle, []byte("gun: example.com/go/rot")) {
		t.Fatalf("Export: %v\n%s", err, bundle)
	}
	if _, err := ks.Export("", id[:8]); err != nil {
		t.Errorf("Export by prefix: %v", err)
	}
	other, _ := open(t)
	done, err := other.Import(bundle, keystore.ImportOptions{Name: "bundle.pem"}, pass)
	if err != nil || len(done) != 1 || done[0].ID != id || done[0].Outcome != "written" {
		t.Fatalf("Import: %v %+v", err, done)
	}
	if _, err := other.Import([]byte("junk"), keystore.ImportOptions{}, pass); !errors.Is(err, keystore.ErrInvalidKeyFile) {
		t.Errorf("Import junk: %v", err)
	}

	newPass := []byte("a-new-passphrase")
	err = ks.Passwd(id, func(r keystore.Request) ([]byte, error) {
		if r.New {
			return append([]byte(nil), newPass...), nil
		}
		return []byte(canary), nil
	})
	if err != nil {
		t.Fatalf("Passwd: %v", err)
	}
	if _, err := ks.Load(id, pass); !errors.Is(err, keystore.ErrWrongPassphrase) {
		t.Errorf("old passphrase after Passwd: %v", err)
	}

	plan, err := ks.Rotate("example.com/go/rot", keystore.RotateOptions{DryRun: true}, keystore.Passphrase(newPass))
	if err != nil || !plan.DryRun {
		t.Fatalf("Rotate dry run: %v %+v", err, plan)
	}
	rotated, err := ks.Rotate("example.com/go/rot", keystore.RotateOptions{}, keystore.Passphrase(newPass))
	if err != nil || rotated.NewKey == nil || rotated.OldKey == nil || *rotated.OldKey != id {
		t.Fatalf("Rotate: %v %+v", err, rotated)
	}
	keys, err := ks.List("targets", "example.com/go/rot")
	if err != nil || len(keys) != 1 || keys[0].ID != *rotated.NewKey {
		t.Errorf("after Rotate: %v %+v", err, keys)
	}
	st, err := ks.Status("example.com/go/rot", nil)
	if err != nil || st["gun"] != "example.com/go/rot" {
		t.Errorf("Status: %v %v", err, st)
	}
}

func TestConcurrentUse(t *testing.T) {
	ks, _ := open(t)
	pass := keystore.Passphrase([]byte(canary))
	id, err := ks.Generate("root", "", pass)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ks.Load(id, pass)
	if err != nil {
		t.Fatal(err)
	}
	defer key.Close()
	spki, err := key.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	const workers = 16
	var wg sync.WaitGroup
	errs := make(chan error, workers*4)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			gun := fmt.Sprintf("example.com/go/c%d", w)
			if _, err := ks.Generate("targets", gun, pass); err != nil {
				errs <- err
				return
			}
			for i := 0; i < 20; i++ {
				msg := []byte(fmt.Sprintf("%d/%d", w, i))
				sig, err := key.Sign(msg)
				if err != nil {
					errs <- err
					return
				}
				if !verify(t, spki, msg, sig) {
					errs <- fmt.Errorf("bad signature from worker %d", w)
					return
				}
			}
			if _, err := ks.List("", gun); err != nil {
				errs <- err
			}
			if _, err := ks.Load(id, func(keystore.Request) ([]byte, error) { return nil, &vaultLocked{"w"} }); !errors.Is(err, keystore.ErrCancelled) {
				errs <- fmt.Errorf("worker %d: %v", w, err)
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	keys, err := ks.List("targets", "")
	if err != nil || len(keys) != workers {
		t.Errorf("want %d targets keys, got %d (%v)", workers, len(keys), err)
	}
}

func TestCloseIsIdempotentAndGuarded(t *testing.T) {
	ks, err := keystore.Open(filepath.Join(t.TempDir(), "trust"))
	if err != nil {
		t.Fatal(err)
	}
	ks.Close()
	ks.Close()
	defer func() {
		if r := recover(); r == nil {
			t.Error("use after Close did not panic")
		}
	}()
	_, _ = ks.List("", "")
}

func TestOpenErrors(t *testing.T) {
	if _, err := keystore.Open(""); !errors.Is(err, keystore.ErrInvalidArgument) {
		t.Errorf("empty: %v", err)
	}
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keystore.Open(f); !errors.Is(err, keystore.ErrIO) {
		t.Errorf("a file: %v", err)
	}
}
