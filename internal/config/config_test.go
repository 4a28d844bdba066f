package config

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadValid(t *testing.T) {
	c, err := Load("testdata/valid.json")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata")
	if c.AppPrivateKey != filepath.Join(abs, "keys/app_private.pem") {
		t.Errorf("app_private_key %q: not resolved against the file's directory", c.AppPrivateKey)
	}
	if c.AlipayPublicKey != "/etc/posagent/alipay_public.pem" {
		t.Errorf("absolute path changed: %q", c.AlipayPublicKey)
	}
	if c.Scanner.Baud != 0 {
		t.Errorf("baud %d: unset must stay 0 so that the profile's applies", c.Scanner.Baud)
	}
	if len(c.Coupons) != 2 || !c.Coupons[1].Match.AnyUser {
		t.Errorf("coupons: %+v", c.Coupons)
	}
}

// base returns a valid configuration as a generic map, for tests to break.
func base(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile("testdata/valid.json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestValidateNamesTheKey(t *testing.T) {
	tests := []struct {
		name   string
		change func(m map[string]any)
		key    string
	}{
		{"missing app_id", func(m map[string]any) { delete(m, "app_id") }, "app_id"},
		{"long app_id", func(m map[string]any) { m["app_id"] = strings.Repeat("1", 33) }, "app_id"},
		{"missing key", func(m map[string]any) { delete(m, "app_private_key") }, "app_private_key"},
		{"missing alipay key", func(m map[string]any) { delete(m, "alipay_public_key") }, "alipay_public_key"},
		{"half cert mode", func(m map[string]any) { delete(m, "alipay_public_key"); m["app_cert"] = "a.crt" }, "alipay_cert"},
		{"both modes", func(m map[string]any) { m["app_cert"] = "a.crt" }, "alipay_public_key"},
		{"sign type", func(m map[string]any) { m["sign_type"] = "MD5" }, "sign_type"},
		{"charset", func(m map[string]any) { m["charset"] = "latin1" }, "charset"},
		{"pay_pid", func(m map[string]any) { m["pay_pid"] = "1234" }, "pay_pid"},
		{"missing pay_pid", func(m map[string]any) { delete(m, "pay_pid") }, "pay_pid"},
		{"terminal_id chars", func(m map[string]any) { m["terminal_id"] = "till 3" }, "terminal_id"},
		{"missing data_dir", func(m map[string]any) { delete(m, "data_dir") }, "data_dir"},
		{"gateway_url", func(m map[string]any) { m["gateway_url"] = "ftp://x" }, "gateway_url"},
		{"auth token", func(m map[string]any) { m["app_auth_token"] = strings.Repeat("t", 41) }, "app_auth_token"},
		{"scanner kind", func(m map[string]any) { m["scanner"] = map[string]any{"kind": "bluetooth"} }, "scanner.kind"},
		{"api listen", func(m map[string]any) { m["api"] = map[string]any{"listen": "7450"} }, "api.listen"},
		{"api beyond loopback", func(m map[string]any) { m["api"] = map[string]any{"listen": "0.0.0.0:7450"} }, "api.tls_cert"},
		{"api key missing", func(m map[string]any) {
			m["api"] = map[string]any{"listen": "192.168.1.5:7450", "tls_cert": "api.crt"}
		}, "api.tls_key"},
		{"api star origin", func(m map[string]any) { m["api"] = map[string]any{"allow_origins": []any{"*"}} }, "api.allow_origins[0]"},
		{"api origin path", func(m map[string]any) {
			m["api"] = map[string]any{"allow_origins": []any{"https://pos.example", "https://pos.example/till"}}
		}, "api.allow_origins[1]"},
		{"no scanner", func(m map[string]any) { delete(m, "scanner") }, "scanner.kind"},
		{"serial no port", func(m map[string]any) { m["scanner"] = map[string]any{"kind": "serial"} }, "scanner.port"},
		{"baud", func(m map[string]any) { m["scanner"] = map[string]any{"kind": "serial", "port": "COM3", "baud": 7} }, "scanner.baud"},
		{"hid no vid", func(m map[string]any) { m["scanner"] = map[string]any{"kind": "hid"} }, "scanner.vid"},
		{"bad pid", func(m map[string]any) { m["scanner"] = map[string]any{"kind": "hid", "vid": "05e0", "pid": "xyz"} }, "scanner.pid"},
		{"terminator", func(m map[string]any) { m["scanner"] = map[string]any{"kind": "sim", "terminator": "ETX"} }, "scanner.terminator"},
		{"rule match", func(m map[string]any) { m["coupons"] = []any{map[string]any{"tpl_id": "x"}} }, "coupons[0].match"},
		{"rule tpl", func(m map[string]any) {
			m["coupons"] = []any{map[string]any{"match": map[string]any{"any_user": true}}}
		}, "coupons[0].tpl_id"},
		{"rule params", func(m map[string]any) {
			m["coupons"] = []any{map[string]any{"match": map[string]any{"any_user": true}, "tpl_id": "x", "tpl_params": []any{1}}}
		}, "coupons[0].tpl_params"},
		{"merchant url", func(m map[string]any) { m["merchant_coupon_url"] = "nope" }, "merchant_coupon_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base(t)
			tt.change(m)
			data, _ := json.Marshal(m)
			c, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = c.Validate()
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %v, want Errors", err)
			}
			if es.For(tt.key) == nil {
				t.Fatalf("errors %v do not name %s", err, tt.key)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("message %q does not name %s", err, tt.key)
			}
		})
	}
}

// Windows Notepad saves UTF-8 with a byte-order mark; such a file is read
// like any other.
func TestParseSkipsByteOrderMark(t *testing.T) {
	c, err := Parse([]byte("\xef\xbb\xbf{\"app_id\": \"2014072300007148\"}"))
	if err != nil {
		t.Fatal(err)
	}
	if c.AppID != "2014072300007148" {
		t.Fatalf("app_id %q", c.AppID)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"unknown key", `{"app_id":"1","gatway_url":"x"}`, `gatway_url: unknown key`},
		{"unknown nested key", `{"scanner":{"kind":"sim","bud":9600}}`, `bud: unknown key`},
		{"wrong type", `{"scanner":{"kind":"serial","baud":"9600"}}`, `scanner.baud: is string`},
		{"syntax", "{\n\"app_id\": \"1\",\n}", `line 3`},
		{"empty", ``, `empty file`},
		{"trailing", `{} {}`, `text after`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSaveLoadsBackEqual(t *testing.T) {
	c, err := Load("testdata/valid.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "posagent.json")
	if err := Save(path, c); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// tpl_params is raw JSON: compare it as values, the rest as is.
	for i := range c.Coupons {
		var a, b any
		json.Unmarshal(c.Coupons[i].TplParams, &a)
		json.Unmarshal(back.Coupons[i].TplParams, &b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("coupons[%d].tpl_params: %s != %s", i, c.Coupons[i].TplParams, back.Coupons[i].TplParams)
		}
		c.Coupons[i].TplParams, back.Coupons[i].TplParams = nil, nil
	}
	if !reflect.DeepEqual(c, back) {
		t.Fatalf("loaded back differently:\n%+v\n%+v", c, back)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestSaveRefusesInvalidAndKeepsOld(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.json")
	old := []byte(`{"old": true}`)
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	err := Save(path, &Config{})
	if err == nil || !strings.Contains(err.Error(), "app_id") {
		t.Fatalf("Save invalid: %v", err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != string(old) {
		t.Fatalf("old file changed to %s", got)
	}
}

func TestPaymentKey(t *testing.T) {
	for _, tt := range []struct {
		json string
		wait time.Duration
		bad  string
	}{
		{`{}`, DefaultBuyerWait, ""},
		{`{"payment":{}}`, DefaultBuyerWait, ""},
		{`{"payment":{"buyer_wait_seconds":45}}`, 45 * time.Second, ""},
		{`{"payment":{"buyer_wait_seconds":-1}}`, 0, "payment.buyer_wait_seconds"},
		{`{"payment":{"buyer_wait_seconds":601}}`, 0, "payment.buyer_wait_seconds"},
	} {
		c, err := Parse([]byte(tt.json))
		if err != nil {
			t.Fatal(err)
		}
		var es Errors
		if err := c.Validate(); errors.As(err, &es) && es.For("payment.buyer_wait_seconds") != nil {
			if tt.bad == "" {
				t.Errorf("%s: %v", tt.json, err)
			}
			continue
		}
		if tt.bad != "" {
			t.Errorf("%s: no error on %s", tt.json, tt.bad)
		} else if c.BuyerWait() != tt.wait {
			t.Errorf("%s: wait %v", tt.json, c.BuyerWait())
		}
	}
	if _, err := Parse([]byte(`{"payment":{"buyer_wait":3}}`)); err == nil || !strings.Contains(err.Error(), "buyer_wait") {
		t.Fatalf("unknown key: %v", err)
	}
}

// payment.keep_days: 90 days unset, 1 to 3650 set, else an error naming it.
func TestPaymentKeepDays(t *testing.T) {
	const day = 24 * time.Hour
	for _, tt := range []struct {
		json string
		keep time.Duration
	}{
		{`{}`, 90 * day},
		{`{"payment":{"keep_days":0}}`, 90 * day},
		{`{"payment":{"keep_days":1}}`, day},
		{`{"payment":{"keep_days":3650}}`, 3650 * day},
		{`{"payment":{"keep_days":-1}}`, 0},
		{`{"payment":{"keep_days":3651}}`, 0},
	} {
		c, err := Parse([]byte(tt.json))
		if err != nil {
			t.Fatal(err)
		}
		var es Errors
		bad := errors.As(c.Validate(), &es) && es.For("payment.keep_days") != nil
		switch {
		case tt.keep == 0 && !bad:
			t.Errorf("%s: no error on payment.keep_days", tt.json)
		case tt.keep != 0 && bad:
			t.Errorf("%s: %v", tt.json, es)
		case tt.keep != 0 && c.PaymentKeep() != tt.keep:
			t.Errorf("%s: keep %v, want %v", tt.json, c.PaymentKeep(), tt.keep)
		}
	}
}

// The queue's drain keys: in range, or an error naming the key.
func TestQueueKeys(t *testing.T) {
	for _, tc := range []struct {
		q   Queue
		bad string
	}{
		{Queue{}, ""},
		{Queue{MaxInFlight: 32, MaxPerSecond: 50}, ""},
		{Queue{MaxInFlight: -1}, "queue.max_in_flight"},
		{Queue{MaxInFlight: 1000}, "queue.max_in_flight"},
		{Queue{MaxPerSecond: -2}, "queue.max_per_second"},
	} {
		var keys []string
		c := Config{Queue: tc.q}
		c.validateQueue(func(key, format string, args ...any) { keys = append(keys, key) })
		if got := strings.Join(keys, ","); got != tc.bad {
			t.Errorf("%+v: bad keys %q, want %q", tc.q, got, tc.bad)
		}
	}
}
