package keystore_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"example.invalid/keytool/bindings/go/keystore"
)

// The scenario table the CLI and the C ABI play too (ffi/tests/faces_agree.rs): where a key's
// passphrase comes from must not depend on the face.
type faceTable struct {
	GUN               string         `json:"gun"`
	RootPassphrase    string         `json:"root_passphrase"`
	TargetsPassphrase string         `json:"targets_passphrase"`
	VaultMaster       string         `json:"vault_master"`
	Scenarios         []faceScenario `json:"scenarios"`
}

type faceScenario struct {
	Name          string            `json:"name"`
	Setup         [][]string        `json:"setup"`
	Env           map[string]string `json:"env"`
	Face          *string           `json:"face"`
	Expect        faceAnswer        `json:"expect"`
	ExpectLibrary *faceAnswer       `json:"expect_library"`
}

type faceAnswer struct {
	Code     int     `json:"code"`
	OpenedBy *string `json:"opened_by"`
}

func (a faceAnswer) String() string {
	by := "null"
	if a.OpenedBy != nil {
		by = *a.OpenedBy
	}
	return "code " + keystore.Code(a.Code).String() + ", opened by " + by
}

// keytoolBinary is the CLI the setup steps run with (built by cargo test --workspace).
func keytoolBinary(t *testing.T) string {
	bin, _ := filepath.Abs("../../../target/debug/keytool")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("KEYTOOL_REQUIRE_PEERS") == "1" {
			t.Fatalf("no keytool binary at %s: run cargo build -p keytool", bin)
		}
		t.Skipf("no keytool binary at %s", bin)
	}
	return bin
}

func TestFacesAgreeOnPassphraseSources(t *testing.T) {
	raw, err := os.ReadFile("../../../tests/scenarios/passphrase_sources.json")
	if err != nil {
		t.Fatal(err)
	}
	var table faceTable
	if err := json.Unmarshal(raw, &table); err != nil {
		t.Fatal(err)
	}
	bin := keytoolBinary(t)
	for _, sc := range table.Scenarios {
		sc := sc
		t.Run(sc.Name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "trust")
			run := func(args ...string) []byte {
				cmd := exec.Command(bin, append([]string{"--trust-dir", dir, "--non-interactive"}, args...)...)
				cmd.Env = []string{
					"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "KEYTOOL_KEYRING=none",
					"DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE=" + table.RootPassphrase,
					"DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE=" + table.TargetsPassphrase,
					"KEYTOOL_VAULT_PASSPHRASE=" + table.VaultMaster,
				}
				out, err := cmd.Output()
				if err != nil {
					t.Fatalf("setup %v: %v", args, err)
				}
				return out
			}
			run("init", "--repo", table.GUN)
			var keys []struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(run("--json", "key", "list", "--role", "targets", "--repo", table.GUN), &keys); err != nil || len(keys) != 1 {
				t.Fatalf("key list: %v %v", err, keys)
			}
			for _, step := range sc.Setup {
				args := make([]string, len(step))
				for i, a := range step {
					args[i] = strings.ReplaceAll(a, "{targets}", keys[0].ID)
				}
				run(args...)
			}

			// The query, in the scenario's environment (no keyring unless it says otherwise).
			for _, k := range []string{"KEYTOOL_VAULT_PASSPHRASE", "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE", "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			t.Setenv("KEYTOOL_KEYRING", "none")
			for k, v := range sc.Env {
				t.Setenv(k, v)
			}
			want := sc.Expect
			if sc.ExpectLibrary != nil {
				want = *sc.ExpectLibrary
			}
			got := faceAnswer{}
			ks, err := keystore.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer ks.Close()
			face := func(r keystore.Request) ([]byte, error) {
				if sc.Face == nil || r.VaultMaster {
					return nil, nil
				}
				return []byte(*sc.Face), nil
			}
			st, err := ks.StatusChecked(table.GUN, nil, face)
			var kerr *keystore.Error
			switch {
			case errors.As(err, &kerr):
				got.Code = int(kerr.Code)
			case err != nil:
				t.Fatal(err)
			default:
				if st["passphrase_checked"] != true {
					t.Fatalf("not checked: %v", st)
				}
				if from, ok := st["targets_passphrase"].(string); ok {
					by := "unknown: " + from
					switch {
					case strings.Contains(from, "callback"):
						by = "face"
					case strings.Contains(from, "vault"):
						by = "vault"
					case strings.HasSuffix(from, "_PASSPHRASE"):
						by = "environment"
					}
					got.OpenedBy = &by
				}
			}
			if got.String() != want.String() {
				t.Errorf("got %v, expected %v", got, want)
			}
		})
	}
}
