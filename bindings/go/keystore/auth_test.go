package keystore_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"example.invalid/keytool/bindings/go/keystore"
)

// tokenIssuer is the test's own token service for a notary-server with token authentication:
// ES256 JWTs whose key the server trusts through its rootcertbundle (a self-signed certificate;
// the JWT names the key by libtrust's key ID). The user gets what it asks for; anonymous
// requests get nothing.
type tokenIssuer struct {
	realm, cert string
	mu          sync.Mutex
	who         []string
}

const (
	goService  = "keytool-go-test"
	goIssuer   = "keytool-go-issuer"
	goUser     = "gopher"
	goPassword = "go-Registry-Pw-9183"
)

func startIssuer(t *testing.T) *tokenIssuer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: goIssuer},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPath := filepath.Join(t.TempDir(), "issuer.crt")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(spki)
	b32 := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:30])
	var groups []string
	for i := 0; i < len(b32); i += 4 {
		groups = append(groups, b32[i:i+4])
	}
	kid := strings.Join(groups, ":")

	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := &tokenIssuer{realm: "http://" + listener.Addr().String() + "/token", cert: certPath}
	b64 := base64.RawURLEncoding.EncodeToString
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, basic := r.BasicAuth()
		who := "anonymous"
		if basic {
			if user != goUser || pass != goPassword {
				issuer.record("refused")
				http.Error(w, `{"details":"invalid credentials"}`, http.StatusUnauthorized)
				return
			}
			who = user
		}
		issuer.record(who)
		var access []map[string]interface{}
		for _, scope := range r.URL.Query()["scope"] {
			kindRest := strings.SplitN(scope, ":", 2)
			if len(kindRest) != 2 || who == "anonymous" {
				continue
			}
			i := strings.LastIndex(kindRest[1], ":")
			if i < 0 {
				continue
			}
			access = append(access, map[string]interface{}{
				"type": kindRest[0], "name": kindRest[1][:i], "actions": strings.Split(kindRest[1][i+1:], ","),
			})
		}
		now := time.Now().Unix()
		head, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "ES256", "kid": kid})
		claims, _ := json.Marshal(map[string]interface{}{
			"iss": goIssuer, "sub": who, "aud": goService, "exp": now + 300, "nbf": now - 10,
			"iat": now, "jti": kid + time.Now().String(), "access": access,
		})
		input := b64(head) + "." + b64(claims)
		digest := sha256.Sum256([]byte(input))
		rr, ss, err := ecdsa.Sign(rand.Reader, key, digest[:])
		if err != nil {
			http.Error(w, "sign", http.StatusInternalServerError)
			return
		}
		sig := make([]byte, 64)
		rr.FillBytes(sig[:32])
		ss.FillBytes(sig[32:])
		token := input + "." + b64(sig)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]interface{}{"token": token, "expires_in": 300})
	})
	server := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(func() { _ = server.Close() })
	return issuer
}

func (i *tokenIssuer) record(who string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.who = append(i.who, who)
}

func (i *tokenIssuer) asked() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]string(nil), i.who...)
}

// The Go binding authenticates as the CLI does, with docker's credentials from DOCKER_CONFIG:
// without them a publish to a token-protected notary-server fails with ErrAuthenticationFailed
// (the message names the repository and the scope), with them it succeeds.
func TestTokenAuthenticationWithDockerCredentials(t *testing.T) {
	if _, err := exec.LookPath("notary-server"); err != nil {
		if os.Getenv("KEYTOOL_REQUIRE_PEERS") == "1" {
			t.Fatal("notary-server is not installed and KEYTOOL_REQUIRE_PEERS=1")
		}
		t.Skip("notary-server not installed")
	}
	issuer := startIssuer(t)
	options, _ := json.Marshal(map[string]string{
		"realm": issuer.realm, "service": goService, "issuer": goIssuer, "rootcertbundle": issuer.cert,
	})
	optionsPath := filepath.Join(t.TempDir(), "auth.json")
	if err := os.WriteFile(optionsPath, options, 0o600); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs("../../../tests/peers/notary-stack.sh")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	if out, err := exec.Command("bash", script, "start", work, "--token-auth", optionsPath).CombinedOutput(); err != nil {
		t.Fatalf("notary-stack.sh start: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("bash", script, "stop", work).Run() })
	env, err := os.ReadFile(filepath.Join(work, "env"))
	if err != nil {
		t.Fatal(err)
	}
	server := &keystore.Server{}
	for _, line := range strings.Split(string(env), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "NOTARY_URL":
			server.URL = v
		case "NOTARY_CA":
			server.CAFile = v
		}
	}

	ks, _ := open(t)
	pass := func(keystore.Request) ([]byte, error) { return []byte("go-auth-pass-123"), nil }
	const gun = "127.0.0.1:5000/go/auth"

	t.Setenv("DOCKER_CONFIG", t.TempDir())
	_, err = ks.Init(gun, server, false, pass)
	if !errors.Is(err, keystore.ErrAuthenticationFailed) {
		t.Fatalf("Init without credentials: %v, want ErrAuthenticationFailed", err)
	}
	if !strings.Contains(err.Error(), "repository:"+gun+":pull") || strings.Contains(err.Error(), goPassword) {
		t.Fatalf("the error names the scope: %v", err)
	}

	withCreds := t.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte(goUser + ":" + goPassword))
	config, _ := json.Marshal(map[string]interface{}{"auths": map[string]interface{}{"127.0.0.1:5000": map[string]string{"auth": auth}}})
	if err := os.WriteFile(filepath.Join(withCreds, "config.json"), config, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", withCreds)
	if _, err := ks.Init(gun, server, false, pass); err != nil {
		t.Fatalf("Init with credentials: %v", err)
	}
	status, err := ks.Status(gun, server)
	if err != nil || status["published"] != true {
		t.Fatalf("Status: %v %v", status, err)
	}
	asked := strings.Join(issuer.asked(), " ")
	if !strings.Contains(asked, "anonymous") || !strings.Contains(asked, goUser) {
		t.Fatalf("token requests: %s", asked)
	}
}
