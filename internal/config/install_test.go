package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// jsonKeys lists the keys of t's JSON form as paths ("scanner.kind").
func jsonKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		keys = append(keys, prefix+name)
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, jsonKeys(f.Type, prefix+name+".")...)
		}
	}
	return keys
}

func flatten(m map[string]any, prefix string, into map[string]bool) {
	for k, v := range m {
		into[prefix+k] = true
		if sub, ok := v.(map[string]any); ok {
			flatten(sub, prefix+k+".", into)
		}
	}
}

// The skeleton holds every key of Config (a key added later must be added
// to it), decodes without error, and fails validation naming exactly what
// only the merchant can fill in.
func TestSkeleton(t *testing.T) {
	data := Skeleton("https://openapi.alipay.com/gateway.do", "app_private_key.pem")
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	flatten(m, "", have)
	for _, k := range jsonKeys(reflect.TypeFor[Config](), "") {
		if !have[k] {
			t.Errorf("skeleton lacks key %s", k)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Read(path)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if c.AppPrivateKey != filepath.Join(dir, "app_private_key.pem") || c.DataDir != filepath.Join(dir, "data") {
		t.Errorf("paths not resolved against the file: %q, %q", c.AppPrivateKey, c.DataDir)
	}
	var es Errors
	if !errors.As(c.Validate(), &es) {
		t.Fatal("the skeleton validates: it must name what is missing")
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Key)
	}
	want := []string{"app_id", "alipay_public_key", "pay_pid", "terminal_id", "scanner.kind"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("skeleton's problems: %v, want %v", got, want)
	}
}

func TestInstallKeys(t *testing.T) {
	base := func() *Config {
		return &Config{GatewayURL: "https://openapi.alipay.com/gateway.do", AppID: "2021000000000001", AppPrivateKey: "k", AlipayPublicKey: "p",
			PayPID: "2088000000000001", TerminalID: "till1", DataDir: "d", Scanner: Scanner{Kind: ScannerWedge},
			SignType: "RSA2", Charset: "utf-8"}
	}
	tests := []struct {
		name    string
		edit    func(c *Config)
		wantKey string // "" = valid
	}{
		{"real till", func(c *Config) {}, ""},
		{"sim on loopback", func(c *Config) { c.GatewayURL = "http://127.0.0.1:8080/gateway.do"; c.Scanner.Kind = ScannerSim }, ""},
		{"sim on localhost", func(c *Config) { c.GatewayURL = "http://localhost:1/gateway.do"; c.Scanner.Kind = ScannerSim }, ""},
		{"sim on ::1", func(c *Config) { c.GatewayURL = "http://[::1]:1/gateway.do"; c.Scanner.Kind = ScannerSim }, ""},
		{"sim on the real gateway", func(c *Config) { c.Scanner.Kind = ScannerSim }, "scanner.kind"},
		{"sim on a LAN host", func(c *Config) { c.GatewayURL = "http://192.168.1.5/gateway.do"; c.Scanner.Kind = ScannerSim }, "scanner.kind"},
		{"notify_url", func(c *Config) { c.AppPay.NotifyURL = "https://shop.example.com/alipay/notify" }, ""},
		{"notify_url not a URL", func(c *Config) { c.AppPay.NotifyURL = "shop.example.com" }, "app_pay.notify_url"},
		{"notify_url with query", func(c *Config) { c.AppPay.NotifyURL = "https://shop.example.com/n?a=1" }, "app_pay.notify_url"},
		{"notify_url too long", func(c *Config) { c.AppPay.NotifyURL = "https://shop.example.com/" + strings.Repeat("a", 240) }, "app_pay.notify_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.edit(c)
			err := c.Validate()
			var es Errors
			switch {
			case tt.wantKey == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.wantKey != "" && (!errors.As(err, &es) || es.For(tt.wantKey) == nil):
				t.Errorf("Validate: %v, want an error on %s", err, tt.wantKey)
			}
		})
	}
}
