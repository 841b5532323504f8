package keystore_test

import (
	"fmt"
	"os"

	"example.invalid/keytool/bindings/go/keystore"
)

func Example() {
	dir, _ := os.MkdirTemp("", "kt-example")
	defer os.RemoveAll(dir)

	ks, err := keystore.Open(dir)
	if err != nil {
		panic(err)
	}
	defer ks.Close()

	// A real program asks its user (or a vault); return a fresh slice: it is wiped after use.
	pass := func(r keystore.Request) ([]byte, error) {
		return []byte("correct horse battery staple"), nil
	}
	id, err := ks.Generate("targets", "registry.example.com/team/app", pass)
	if err != nil {
		panic(err)
	}
	key, err := ks.Load(id, pass)
	if err != nil {
		panic(err)
	}
	defer key.Close()
	sig, _ := key.Sign([]byte("payload"))
	keys, _ := ks.List("targets", "")
	fmt.Println(key.Role(), key.GUN(), len(sig), len(keys))
	// Output: targets registry.example.com/team/app 64 1
}
