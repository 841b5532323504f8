package keystore_test

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"example.invalid/keytool/bindings/go/keystore"
)

// startNotary starts a notary-server on loopback with the repository's harness and stops it at
// the end of the test; it skips (or fails under KEYTOOL_REQUIRE_PEERS=1) without notary-server.
func startNotary(t *testing.T) *keystore.Server {
	t.Helper()
	if _, err := exec.LookPath("notary-server"); err != nil {
		if os.Getenv("KEYTOOL_REQUIRE_PEERS") == "1" {
			t.Fatal("notary-server is not installed and KEYTOOL_REQUIRE_PEERS=1")
		}
		t.Skip("notary-server not installed")
	}
	script, err := filepath.Abs("../../../tests/peers/notary-stack.sh")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	if out, err := exec.Command("bash", script, "start", work).CombinedOutput(); err != nil {
		t.Fatalf("notary-stack.sh start: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("bash", script, "stop", work).Run() })
	f, err := os.Open(filepath.Join(work, "env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	server := &keystore.Server{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		k, v, _ := strings.Cut(scanner.Text(), "=")
		switch k {
		case "NOTARY_URL":
			server.URL = v
		case "NOTARY_CA":
			server.CAFile = v
		}
	}
	if server.URL == "" || server.CAFile == "" {
		t.Fatal("the stack's env file names no server")
	}
	return server
}

// A Go program publishes a repository with keys it generates, rotates the targets key on the
// server, and the server's metadata names the new key; notary signs with it.
func TestInitAndRotateAgainstNotaryServer(t *testing.T) {
	server := startNotary(t)
	ks, dir := open(t)
	pass := func(keystore.Request) ([]byte, error) { return []byte("go-server-pass-123"), nil }
	const gun = "example.com/go/published"

	made, err := ks.Init(gun, server, false, pass)
	if err != nil {
		t.Fatalf("Init: %v", err)
	}
	if made["already_published"] != false {
		t.Fatalf("Init report: %v", made)
	}
	keys := made["keys"].(map[string]interface{})
	oldTargets := keys["targets"].(string)

	rotated, err := ks.Rotate(gun, keystore.RotateOptions{Server: server}, pass)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	if rotated.OldKey == nil || *rotated.OldKey != oldTargets || rotated.NewKey == nil || !rotated.Published {
		t.Fatalf("Rotate report: %+v", rotated)
	}
	status, err := ks.Status(gun, server)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	expected := status["expected_targets_keys"].([]interface{})[0].(map[string]interface{})
	if status["ready"] != true || expected["key_id"] != *rotated.NewKey {
		t.Fatalf("after rotation the server must expect the new key: %v", status)
	}

	// notary, on the same trust directory, signs a new target with the new key.
	if _, err := exec.LookPath("notary"); err != nil {
		return
	}
	target := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(target, []byte("from go"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"add", gun, "go-target", target}, {"publish", gun}} {
		cmd := exec.Command("notary", append([]string{"-d", dir, "-s", server.URL, "--tlscacert", server.CAFile}, args...)...)
		cmd.Env = append(os.Environ(), "NOTARY_TARGETS_PASSPHRASE=go-server-pass-123")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("notary %v: %v\n%s", args, err, out)
		}
	}
}

// A Go program renews a published repository: targets first with a short validity, then root and
// targets with notary's defaults; the root certificate is renewed (same key), and notary, which
// trusted the old root, still lists the repository.
func TestRenewAgainstNotaryServer(t *testing.T) {
	server := startNotary(t)
	ks, _ := open(t)
	pass := func(keystore.Request) ([]byte, error) { return []byte("go-server-pass-123"), nil }
	const gun = "example.com/go/renewed"
	if _, err := ks.Init(gun, server, false, pass); err != nil {
		t.Fatalf("Init: %v", err)
	}
	prior := t.TempDir()
	notaryList := func() error {
		if _, err := exec.LookPath("notary"); err != nil {
			return nil
		}
		cmd := exec.Command("notary", "-d", prior, "-s", server.URL, "--tlscacert", server.CAFile, "list", gun)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("notary list: %v\n%s", err, out)
		}
		return nil
	}
	if err := notaryList(); err != nil {
		t.Fatal(err)
	}

	if _, err := ks.Renew(gun, keystore.RenewOptions{}, pass); !errors.Is(err, keystore.ErrInvalidArgument) {
		t.Fatalf("Renew without a server: %v", err)
	}
	if _, err := ks.Renew(gun, keystore.RenewOptions{Server: server, Role: "timestamp"}, pass); !errors.Is(err, keystore.ErrInvalidArgument) {
		t.Fatalf("Renew of the timestamp: %v", err)
	}
	short, err := ks.Renew(gun, keystore.RenewOptions{Server: server, Expires: 48 * time.Hour}, pass)
	if err != nil {
		t.Fatalf("Renew: %v", err)
	}
	if len(short.Roles) != 2 || short.Roles[0].Role != "targets" || short.Roles[0].NewVersion == nil ||
		*short.Roles[0].NewVersion != short.Roles[0].Version+1 || !short.Roles[1].SignedByServer {
		t.Fatalf("Renew report: %+v", short)
	}
	expires, err := time.Parse(time.RFC3339Nano, *short.Roles[0].NewExpires)
	if err != nil || time.Until(expires) > 49*time.Hour || time.Until(expires) < 47*time.Hour {
		t.Fatalf("targets expire at %v (%v), not in 2 days", expires, err)
	}

	all, err := ks.Renew(gun, keystore.RenewOptions{Server: server, AllRoles: true}, pass)
	if err != nil {
		t.Fatalf("Renew all roles: %v", err)
	}
	if all.RootCertificate == nil || !all.RootCertificate.Renewed || all.RootCertificate.NewID == nil ||
		*all.RootCertificate.NewID == all.RootCertificate.ID {
		t.Fatalf("root certificate not renewed: %+v", all)
	}
	status, err := ks.Status(gun, server)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	root := status["expected_root_keys"].([]interface{})[0].(map[string]interface{})
	if root["listed_id"] != *all.RootCertificate.NewID || root["local"] != true {
		t.Fatalf("after renewal the server must list the new certificate: %v", status)
	}
	if err := notaryList(); err != nil {
		t.Fatalf("a notary client of the old root: %v", err)
	}
}

// isKeyID tells a key ID: 64 lowercase hex digits.
func isKeyID(id string) bool {
	if len(id) != 64 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil && strings.ToLower(id) == id
}

// sorted returns a sorted copy of list.
func sorted(list []string) []string {
	out := append([]string(nil), list...)
	sort.Strings(out)
	return out
}

// The calls that publish refuse a nil Server (or one without URL) as an invalid argument before
// anything is done: the package never passes NULL for the server the C library requires.
func TestServerCallsNeedAServer(t *testing.T) {
	ks, _ := open(t)
	const gun = "example.com/go/no-server"
	digest := "sha256:" + strings.Repeat("ab", 32)
	for _, server := range []*keystore.Server{nil, {CAFile: "ca.pem"}} {
		calls := map[string]func() error{
			"Renew": func() error {
				_, err := ks.Renew(gun, keystore.RenewOptions{Server: server}, nil)
				return err
			},
			"SignerAdd": func() error { _, err := ks.SignerAdd(gun, "alice", nil, server, nil); return err },
			"SignerRemove": func() error {
				_, err := ks.SignerRemove(gun, "alice", false, server, nil)
				return err
			},
			"SignerList":   func() error { _, err := ks.SignerList(gun, server); return err },
			"SignerRotate": func() error { _, err := ks.SignerRotate(gun, "alice", server, nil); return err },
			"SignTag": func() error {
				_, err := ks.SignTag(gun, "v1", digest, 1, keystore.SignOptions{NoCheck: true}, server, nil)
				return err
			},
			"UnsignTag": func() error { _, err := ks.UnsignTag(gun, "v1", "", server, nil); return err },
			"MigrateSigstore": func() error {
				_, err := ks.MigrateSigstore(gun, keystore.SigstoreOptions{DryRun: true}, server, nil)
				return err
			},
		}
		for name, call := range calls {
			var kerr *keystore.Error
			if err := call(); !errors.As(err, &kerr) || kerr.Code != keystore.CodeInvalidArgument ||
				!strings.Contains(kerr.Message, name+" talks to a Notary server") {
				t.Errorf("%s with server %+v: %v, want CodeInvalidArgument naming the call", name, server, err)
			}
		}
	}
}

// A Go program manages signers and signs a digest directly on a real notary-server: the
// signer's generated key signs into targets/releases and targets/<name>; a rotation keeps what
// it signed verifiable; removing the last releasing signer needs confirmation.
func TestSignersAndSigningAgainstNotaryServer(t *testing.T) {
	server := startNotary(t)
	ks, dir := open(t)
	pass := func(keystore.Request) ([]byte, error) { return []byte("go-signer-pass-123"), nil }
	const gun = "example.com/go/signers"
	if _, err := ks.Init(gun, server, false, pass); err != nil {
		t.Fatalf("Init: %v", err)
	}
	added, err := ks.SignerAdd(gun, "alice", nil, server, pass)
	if err != nil {
		t.Fatalf("SignerAdd: %v", err)
	}
	keyID := added.KeyID
	if added.GUN != gun || added.Name != "alice" || !isKeyID(keyID) || added.Already || added.TargetsVersion < 2 {
		t.Fatalf("SignerAdd report: %+v", added)
	}
	if g := added.Generated; g == nil || g.ID != keyID || g.Role != "alice" || g.GUN != nil ||
		g.Path != filepath.Join(dir, "private", keyID+".key") {
		t.Fatalf("SignerAdd generated: %+v", added.Generated)
	}
	if _, err := os.Stat(added.Generated.Path); err != nil {
		t.Fatalf("the generated signer key: %v", err)
	}
	if _, err := ks.SignerAdd(gun, "--force", nil, server, pass); err == nil {
		t.Fatal("a flag-like signer name must be refused")
	}
	aliceKeys := []keystore.SignerKeyInfo{{ID: keyID, Local: true}}
	list, err := ks.SignerList(gun, server)
	if err != nil {
		t.Fatalf("SignerList: %v", err)
	}
	want := &keystore.Signers{
		GUN:         gun,
		Signers:     []keystore.SignerInfo{{Name: "alice", Keys: aliceKeys, Threshold: 1, CanRelease: true}},
		ReleaseKeys: aliceKeys,
		Unverified:  []string{},
	}
	if !reflect.DeepEqual(list, want) {
		t.Fatalf("SignerList: %+v, want %+v", list, want)
	}
	digest := "sha256:" + strings.Repeat("ab", 32)
	signed, err := ks.SignTag(gun, "v1", digest, 321, keystore.SignOptions{Signer: "alice", NoCheck: true}, server, pass)
	if err != nil {
		t.Fatalf("SignTag: %v", err)
	}
	aliceRoles := []string{"targets/alice", "targets/releases"}
	if signed.GUN != gun || signed.Tag != "v1" || signed.Digest != digest || signed.Size != 321 ||
		!reflect.DeepEqual(sorted(signed.Roles), aliceRoles) || signed.Replaced != nil || signed.Already ||
		signed.CheckedRegistry != nil {
		t.Fatalf("SignTag report: %+v", signed)
	}
	again, err := ks.SignTag(gun, "v1", digest, 321, keystore.SignOptions{Signer: "alice", NoCheck: true}, server, pass)
	if err != nil || !again.Already {
		t.Fatalf("signing the same digest again must publish nothing: %v %+v", err, again)
	}
	if _, err := ks.SignTag(gun, "v2", "sha256:beef", 1, keystore.SignOptions{NoCheck: true}, server, pass); err == nil {
		t.Fatal("a malformed digest must be refused")
	}
	if list, err = ks.SignerList(gun, server); err != nil || list.Signers[0].SignedTags != 1 || list.ReleasedTags != 1 {
		t.Fatalf("SignerList after signing: %v %+v", err, list)
	}
	rotated, err := ks.SignerRotate(gun, "alice", server, pass)
	if err != nil {
		t.Fatalf("SignerRotate: %v", err)
	}
	if rotated.GUN != gun || rotated.Name != "alice" || !reflect.DeepEqual(rotated.OldKeys, []string{keyID}) ||
		!isKeyID(rotated.NewKey) || rotated.NewKey == keyID || !reflect.DeepEqual(sorted(rotated.Resigned), aliceRoles) ||
		!reflect.DeepEqual(rotated.Retired, []string{keyID}) || len(rotated.Kept) != 0 || rotated.Resumed {
		t.Fatalf("SignerRotate report: %+v", rotated)
	}
	// A signer renews its own role: targets/releases alone, with its content kept.
	renewed, err := ks.Renew(gun, keystore.RenewOptions{Role: "targets/releases", Server: server, Expires: 40 * 24 * time.Hour}, pass)
	if err != nil {
		t.Fatalf("Renew of a signer role: %v", err)
	}
	if len(renewed.Roles) != 2 || renewed.Roles[0].Role != "targets/releases" || !renewed.Roles[0].Requested ||
		renewed.Roles[0].NewVersion == nil || *renewed.Roles[0].NewVersion != renewed.Roles[0].Version+1 ||
		renewed.Roles[1].Role != "snapshot" || !renewed.Roles[1].SignedByServer || !renewed.Published {
		t.Fatalf("Renew report: %+v", renewed)
	}
	if list, err = ks.SignerList(gun, server); err != nil || list.ReleasedTags != 1 {
		t.Fatalf("SignerList after renewing targets/releases: %v %+v", err, list)
	}
	var kerr *keystore.Error
	if _, err := ks.SignerRemove(gun, "alice", false, server, pass); !errors.As(err, &kerr) || kerr.Code != keystore.CodeInvalidArgument {
		t.Fatalf("removing the last releasing signer must need confirmation: %v", err)
	}
	unsigned, err := ks.UnsignTag(gun, "v1", "alice", server, pass)
	if err != nil {
		t.Fatalf("UnsignTag: %v", err)
	}
	if unsigned.GUN != gun || unsigned.Tag != "v1" || !reflect.DeepEqual(sorted(unsigned.Roles), aliceRoles) {
		t.Fatalf("UnsignTag report: %+v", unsigned)
	}
	removed, err := ks.SignerRemove(gun, "alice", false, server, pass)
	if err != nil {
		t.Fatalf("SignerRemove: %v", err)
	}
	if removed.GUN != gun || removed.Name != "alice" || !reflect.DeepEqual(removed.Keys, []string{rotated.NewKey}) ||
		removed.OrphanedTags != 0 || removed.TargetsVersion <= added.TargetsVersion {
		t.Fatalf("SignerRemove report: %+v", removed)
	}
	// notary, on the same trust directory, sees no signer left.
	if _, err := exec.LookPath("notary"); err != nil {
		return
	}
	out, err := exec.Command("notary", "-d", dir, "-s", server.URL, "--tlscacert", server.CAFile, "delegation", "list", gun).CombinedOutput()
	if err != nil || strings.Contains(string(out), "targets/alice") {
		t.Fatalf("notary delegation list: %v\n%s", err, out)
	}
}
