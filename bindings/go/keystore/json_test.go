package keystore_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"example.invalid/keytool/bindings/go/keystore"
)

// The JSON results the C library returns, as Rust serialises them: testdata/ffi-json/ is written
// by ffi/tests/go_bindings.rs from values of keystore's own types with every field set, and that
// test fails when the files are stale (`KT_UPDATE_GO=1 cargo test -p keystore-ffi --test
// go_bindings` rewrites them). Status and Init return generic maps, so they have no sample.
var rustJSON = map[string]interface{}{
	"list.json":            &[]keystore.KeyInfo{},
	"import.json":          &[]keystore.Imported{},
	"rotate.json":          &keystore.Rotated{},
	"renew.json":           &keystore.Renewed{},
	"signer_add.json":      &keystore.SignerAdded{},
	"signer_remove.json":   &keystore.SignerRemoved{},
	"signer_list.json":     &keystore.Signers{},
	"signer_rotate.json":   &keystore.SignerRotated{},
	"sign.json":            &keystore.SignedTag{},
	"unsign.json":          &keystore.UnsignedTag{},
	"cosign_export.json":   &keystore.CosignExport{},
	"notation_export.json": &keystore.NotationExport{},
	"sigstore.json":        &keystore.SigstoreMigration{},
}

// TestStructsDecodeEveryRustField decodes each sample with unknown fields disallowed, so a field
// Rust sends that the Go struct lacks fails here; and checks the other way that every field of
// the Go struct is one Rust sends.
func TestStructsDecodeEveryRustField(t *testing.T) {
	dir := filepath.Join("testdata", "ffi-json")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, e := range entries {
		files = append(files, e.Name())
	}
	var want []string
	for f := range rustJSON {
		want = append(want, f)
	}
	sort.Strings(want)
	if !reflect.DeepEqual(files, want) {
		t.Fatalf("%s holds %v, the test decodes %v: give every sample a Go type", dir, files, want)
	}
	for file, into := range rustJSON {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(into); err != nil {
			t.Errorf("%s into %T: %v", file, into, err)
			continue
		}
		// The other way: every field of the Go struct, nested ones too, is in the sample.
		var generic interface{}
		if err := json.Unmarshal(data, &generic); err != nil {
			t.Fatal(err)
		}
		checkGoFields(t, file, reflect.TypeOf(into).Elem(), generic)
	}
}

// checkGoFields fails for every field of Go type typ (a struct, or a pointer to or list of
// structs, at any depth) whose JSON name is not a field of the sample value; types that decode
// themselves (json.Unmarshaler) are checked by their own decoding.
func checkGoFields(t *testing.T, file string, typ reflect.Type, value interface{}) {
	t.Helper()
	if reflect.PtrTo(typ).Implements(reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()) {
		return
	}
	switch typ.Kind() {
	case reflect.Ptr:
		checkGoFields(t, file, typ.Elem(), value)
	case reflect.Slice:
		if items, ok := value.([]interface{}); ok && len(items) > 0 {
			checkGoFields(t, file, typ.Elem(), items[0])
		}
	case reflect.Struct:
		fields, ok := value.(map[string]interface{})
		if !ok {
			t.Errorf("%s: %s is %T in the sample, not an object", file, typ.Name(), value)
			return
		}
		for i := 0; i < typ.NumField(); i++ {
			name := strings.Split(typ.Field(i).Tag.Get("json"), ",")[0]
			v, ok := fields[name]
			if !ok {
				t.Errorf("%s: %s.%s (json %q) is not a field Rust sends", file, typ.Name(), typ.Field(i).Name, name)
				continue
			}
			checkGoFields(t, file, typ.Field(i).Type, v)
		}
	}
}
