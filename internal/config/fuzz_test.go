package config

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// A configuration file is typed by people and edited by hand: whatever it
// holds, Parse and Validate must answer with an error rather than panic, and
// a configuration they accept must save and load back unchanged.
func FuzzParse(f *testing.F) {
	valid, err := os.ReadFile("testdata/valid.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte(`{"scanner":{"kind":"serial","baud":-1}}`))
	f.Add([]byte(`{"coupons":[{"match":{},"tpl_params":null}]}`))
	f.Add([]byte(`{"app_id":"\u0000"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		if c.Validate() != nil {
			return
		}
		// Load resolves relative paths against the file's directory, so the
		// round trip that must hold is from a loaded configuration.
		dir := t.TempDir()
		first, second := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")
		if err := Save(first, c); err != nil {
			t.Fatalf("a valid configuration does not save: %v", err)
		}
		loaded, err := Load(first)
		if err != nil {
			t.Fatalf("a saved configuration does not load: %v", err)
		}
		if err := Save(second, loaded); err != nil {
			t.Fatalf("a loaded configuration does not save: %v", err)
		}
		back, err := Load(second)
		if err != nil {
			t.Fatalf("a saved configuration does not load: %v", err)
		}
		if !equalConfig(loaded, back) {
			t.Fatalf("loaded back differently:\n%+v\n%+v", loaded, back)
		}
	})
}

// equalConfig compares two configurations, tpl_params as JSON values.
func equalConfig(a, b *Config) bool {
	a2, b2 := *a, *b
	a2.Coupons, b2.Coupons = nil, nil
	if len(a.Coupons) != len(b.Coupons) || !reflect.DeepEqual(a2, b2) {
		return false
	}
	for i := range a.Coupons {
		ra, rb := a.Coupons[i], b.Coupons[i]
		var va, vb any
		json.Unmarshal(ra.TplParams, &va)
		json.Unmarshal(rb.TplParams, &vb)
		ra.TplParams, rb.TplParams = nil, nil
		if !reflect.DeepEqual(ra, rb) || !reflect.DeepEqual(va, vb) {
			return false
		}
	}
	return true
}
