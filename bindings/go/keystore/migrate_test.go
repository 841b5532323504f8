package keystore_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"example.invalid/keytool/bindings/go/keystore"
)

// publicKeyOf returns the DER SPKI of the first PEM block of file: a PUBLIC KEY, or the key of a
// CERTIFICATE, parsed by Go's crypto/x509 (not keytool's code).
func publicKeyOf(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s holds no PEM block", file)
	}
	switch block.Type {
	case "PUBLIC KEY":
		if _, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		return block.Bytes
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
			t.Fatalf("%s: not a signing certificate", file)
		}
		return cert.RawSubjectPublicKeyInfo
	}
	t.Fatalf("%s: unexpected PEM block %s", file, block.Type)
	return nil
}

// generatedKey makes a targets key and returns its ID and DER SPKI.
func generatedKey(t *testing.T, ks *keystore.Keystore, pass keystore.PassphraseFunc) (string, []byte) {
	t.Helper()
	id, err := ks.Generate("targets", "example.com/go/leave", pass)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	key, err := ks.Load(id, pass)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	defer key.Close()
	spki, err := key.PublicKey()
	if err != nil {
		t.Fatalf("PublicKey: %v", err)
	}
	return id, spki
}

// A key leaves content trust for cosign: the sealed file and its .pub are written (the .pub is
// the key's public key per crypto/x509), the report names the source but never the passphrase,
// and a second export without overwrite is refused and changes nothing.
func TestExportCosign(t *testing.T) {
	ks, _ := open(t)
	pass := func(keystore.Request) ([]byte, error) { return []byte(canary), nil }
	id, spki := generatedKey(t, ks, pass)
	out := filepath.Join(t.TempDir(), "cosign.key")

	wrong := func(keystore.Request) ([]byte, error) { return []byte("not-the-passphrase"), nil }
	if _, err := ks.ExportCosign(id, out, false, wrong); !errors.Is(err, keystore.ErrWrongPassphrase) {
		t.Fatalf("a wrong passphrase: %v, want ErrWrongPassphrase", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a failed export left %s: %v", out, err)
	}

	var asked []keystore.Request
	done, err := ks.ExportCosign(id[:12], out, false, func(r keystore.Request) ([]byte, error) {
		asked = append(asked, r)
		return []byte(canary), nil
	})
	if err != nil {
		t.Fatalf("ExportCosign: %v", err)
	}
	pub := strings.TrimSuffix(out, ".key") + ".pub"
	if done.KeyID != id || done.Algorithm != "ecdsa" || done.PrivateKey != out || done.PublicKey != pub ||
		done.PassphraseSource != "the passphrase callback" {
		t.Fatalf("ExportCosign report: %+v", done)
	}
	if len(asked) != 1 || asked[0].New || asked[0].KeyID != id {
		t.Fatalf("the callback was asked %+v, want once for the existing key", asked)
	}
	report, _ := json.Marshal(done)
	if bytes.Contains(report, []byte(canary)) {
		t.Fatal("the report holds the passphrase")
	}
	sealed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(sealed, []byte("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")) || bytes.Contains(sealed, []byte(canary)) {
		t.Fatalf("%s is not a sealed cosign key", out)
	}
	if info, err := os.Stat(out); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v, want mode 0600", out, info, err)
	}
	if !bytes.Equal(publicKeyOf(t, pub), spki) {
		t.Fatal("cosign.pub is not the key's public key")
	}

	if _, err := ks.ExportCosign(id, out, false, pass); !errors.Is(err, keystore.ErrAlreadyExists) {
		t.Fatalf("a second export: %v, want ErrAlreadyExists", err)
	}
	if again, _ := os.ReadFile(out); !bytes.Equal(again, sealed) {
		t.Fatal("a refused export changed the file")
	}
	if _, err := ks.ExportCosign(id, out, true, pass); err != nil {
		t.Fatalf("ExportCosign with overwrite: %v", err)
	}
}

// A key leaves content trust for notation: key, certificate (whose key crypto/x509 reads as
// the key's) and the signingkeys.json entry; a bad name writes nothing; an existing entry is
// refused unless overwritten.
func TestExportNotation(t *testing.T) {
	ks, _ := open(t)
	pass := func(keystore.Request) ([]byte, error) { return []byte(canary), nil }
	id, spki := generatedKey(t, ks, pass)
	config := filepath.Join(t.TempDir(), "notation")

	var kerr *keystore.Error
	if _, err := ks.ExportNotation(id, keystore.NotationOptions{ConfigDir: config, Name: "-rf"}, pass); !errors.As(err, &kerr) ||
		kerr.Code != keystore.CodeInvalidArgument {
		t.Fatalf("a flag-like name: %v, want CodeInvalidArgument", err)
	}
	if _, err := ks.ExportNotation(id, keystore.NotationOptions{}, pass); !errors.As(err, &kerr) || kerr.Code != keystore.CodeInvalidArgument {
		t.Fatalf("no ConfigDir: %v, want CodeInvalidArgument", err)
	}
	if _, err := ks.ExportNotation(id, keystore.NotationOptions{ConfigDir: config, Validity: -1}, pass); !errors.As(err, &kerr) ||
		kerr.Code != keystore.CodeInvalidArgument {
		t.Fatalf("a negative validity: %v, want CodeInvalidArgument", err)
	}
	if _, err := os.Stat(config); !os.IsNotExist(err) {
		t.Fatalf("a refused export created %s", config)
	}

	done, err := ks.ExportNotation(id, keystore.NotationOptions{ConfigDir: config}, pass)
	if err != nil {
		t.Fatalf("ExportNotation: %v", err)
	}
	name := "keytool-" + id[:12]
	if done.KeyID != id || done.Name != name || !done.DefaultKey || done.ValidDays != 3650 ||
		done.PrivateKey != filepath.Join(config, "localkeys", name+".key") ||
		done.Certificate != filepath.Join(config, "localkeys", name+".crt") ||
		done.SigningKeys != filepath.Join(config, "signingkeys.json") {
		t.Fatalf("ExportNotation report: %+v", done)
	}
	if !bytes.Equal(publicKeyOf(t, done.Certificate), spki) {
		t.Fatal("the certificate is not for the key")
	}
	var signingKeys struct {
		Default string `json:"default"`
		Keys    []struct {
			Name     string `json:"name"`
			KeyPath  string `json:"keyPath"`
			CertPath string `json:"certPath"`
		} `json:"keys"`
	}
	data, err := os.ReadFile(done.SigningKeys)
	if err != nil || json.Unmarshal(data, &signingKeys) != nil {
		t.Fatalf("signingkeys.json: %v %s", err, data)
	}
	if signingKeys.Default != name || len(signingKeys.Keys) != 1 || signingKeys.Keys[0].KeyPath != done.PrivateKey ||
		signingKeys.Keys[0].CertPath != done.Certificate {
		t.Fatalf("signingkeys.json: %s", data)
	}
	if _, err := ks.ExportNotation(id, keystore.NotationOptions{ConfigDir: config}, pass); !errors.Is(err, keystore.ErrAlreadyExists) {
		t.Fatalf("a second export: %v, want ErrAlreadyExists", err)
	}
	if again, _ := os.ReadFile(done.SigningKeys); !bytes.Equal(again, data) {
		t.Fatal("a refused export changed signingkeys.json")
	}
}

// MigrateSigstore checks its arguments before anything is done, and an unreachable server is a
// network error that makes no key (Generate writes its key only after the server answered).
func TestMigrateSigstoreWithoutAServer(t *testing.T) {
	ks, _ := open(t)
	const gun = "example.com/go/migrate"
	var kerr *keystore.Error
	unreachable := &keystore.Server{URL: "https://127.0.0.1:1"}
	if _, err := ks.MigrateSigstore(gun, keystore.SigstoreOptions{}, unreachable, nil); !errors.As(err, &kerr) ||
		kerr.Code != keystore.CodeInvalidArgument || !strings.Contains(kerr.Message, "KeyID or Generate") {
		t.Fatalf("no key: %v, want CodeInvalidArgument", err)
	}
	if _, err := ks.MigrateSigstore(gun, keystore.SigstoreOptions{KeyID: "abcd", Generate: true}, unreachable, nil); !errors.As(err, &kerr) ||
		kerr.Code != keystore.CodeInvalidArgument {
		t.Fatalf("KeyID and Generate: %v, want CodeInvalidArgument", err)
	}
	asked := 0
	pass := func(keystore.Request) ([]byte, error) { asked++; return []byte(canary), nil }
	pub := filepath.Join(t.TempDir(), "sigstore.pub")
	_, err := ks.MigrateSigstore(gun, keystore.SigstoreOptions{Generate: true, PublicKeyOut: pub}, unreachable, pass)
	if !errors.Is(err, keystore.ErrNetwork) {
		t.Fatalf("an unreachable server: %v, want ErrNetwork", err)
	}
	keys, err := ks.List("", "")
	if err != nil || len(keys) != 0 || asked != 0 {
		t.Fatalf("a failed migration made keys %v (%v) or asked %d times", keys, err, asked)
	}
	if _, err := os.Stat(pub); !os.IsNotExist(err) {
		t.Fatal("a failed migration wrote the public key file")
	}
}

// Against a real notary-server: a repository the server does not have has no signatures to
// migrate, a clear invalid-argument error (a dry run needs no key and no registry for that).
func TestMigrateSigstoreUnpublishedRepository(t *testing.T) {
	server := startNotary(t)
	ks, _ := open(t)
	var kerr *keystore.Error
	_, err := ks.MigrateSigstore("example.com/go/never-published", keystore.SigstoreOptions{DryRun: true}, server, nil)
	if !errors.As(err, &kerr) || kerr.Code != keystore.CodeInvalidArgument || !strings.Contains(kerr.Message, "not published") {
		t.Fatalf("an unpublished repository: %v, want CodeInvalidArgument saying it is not published", err)
	}
}
