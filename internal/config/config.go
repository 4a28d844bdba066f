// Package config reads, checks and writes posagent's configuration: one JSON
// file whose keys are a contract (see docs/configuration.md). Unknown keys are errors, so
// that a misspelt key is found at start and not when it would have mattered.
package config

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"posagent/internal/endpoint"
)

// Config is the whole configuration file.
type Config struct {
	GatewayURL      string       `json:"gateway_url,omitempty"` // "" = Alipay's production gateway
	AppID           string       `json:"app_id"`
	AppPrivateKey   string       `json:"app_private_key"`             // path to PEM or bare base64 key
	AlipayPublicKey string       `json:"alipay_public_key,omitempty"` // path; public-key mode
	AppCert         string       `json:"app_cert,omitempty"`          // paths; certificate mode
	AlipayCert      string       `json:"alipay_cert,omitempty"`
	AlipayRootCert  string       `json:"alipay_root_cert,omitempty"`
	EncryptKey      string       `json:"encrypt_key,omitempty"` // path to the AES key file
	SignType        string       `json:"sign_type,omitempty"`   // RSA2 (default) or RSA
	Charset         string       `json:"charset,omitempty"`     // utf-8 (default) or GBK
	AppAuthToken    string       `json:"app_auth_token,omitempty"`
	PayPID          string       `json:"pay_pid"`
	TerminalID      string       `json:"terminal_id"`
	DataDir         string       `json:"data_dir"`
	Scanner         Scanner      `json:"scanner"`
	Coupons         []CouponRule `json:"coupons,omitempty"`

	MerchantCouponURL string `json:"merchant_coupon_url,omitempty"`

	API     API      `json:"api,omitzero"`
	Payment *Payment `json:"payment,omitempty"` // stage two (payment.go)
	AppPay  AppPay   `json:"app_pay,omitzero"`  // app payments (install.go)
	Queue   Queue    `json:"queue,omitzero"`    // queue.go
	// StaffPIN is the salted hash of the PIN that guards the TUI's staff
	// actions (staff.go); empty: no PIN.
	StaffPIN string `json:"staff_pin,omitempty"`
}

// Scanner kinds.
const (
	ScannerSerial = "serial"
	ScannerHID    = "hid"
	ScannerWedge  = "wedge"
	ScannerSim    = "sim"
)

// Scanner says which scanner to read and how its input is framed.
type Scanner struct {
	Kind       string `json:"kind"`
	Port       string `json:"port,omitempty"`       // serial: path or COM name; empty = match vid/pid
	Baud       int    `json:"baud,omitempty"`       // serial: 0 = the profile's, else 9600
	VID        string `json:"vid,omitempty"`        // 4 hex digits, e.g. "05e0"
	PID        string `json:"pid,omitempty"`        // 4 hex digits
	Terminator string `json:"terminator,omitempty"` // CR, LF, CRLF, TAB, none; "" = the profile's, else CR
	Profile    string `json:"profile,omitempty"`    // a profile name from drivers/
}

// Terminators a scanner may end a code with.
var Terminators = []string{"CR", "LF", "CRLF", "TAB", "none"}

// CouponRule names a pass template to issue to customers it matches.
type CouponRule struct {
	Match     Match           `json:"match"`
	TplID     string          `json:"tpl_id"`
	TplParams json.RawMessage `json:"tpl_params,omitempty"` // a JSON object; string values may hold placeholders
}

// Match selects customers: a school, or anyone.
type Match struct {
	SchoolStdCode string `json:"school_std_code,omitempty"`
	AnyUser       bool   `json:"any_user,omitempty"`
}

// FieldError is a problem with one key. Key is the JSON path, such as
// "scanner.baud" or "coupons[1].tpl_id".
type FieldError struct {
	Key string
	Msg string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

// Errors is every problem Validate found, in key order of the file.
type Errors []*FieldError

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// For returns the problem with key, if any: the settings screen shows it
// beside the field.
func (es Errors) For(key string) *FieldError {
	for _, e := range es {
		if e.Key == key {
			return e
		}
	}
	return nil
}

// Load reads, decodes and validates the file at path. Relative key-file paths
// and data_dir are resolved against the file's directory, so a configuration
// means the same whatever directory posagent is started from; they stay
// absolute when the configuration is saved again.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Decode(path, data)
}

// Decode is Load of data as the contents of path, which need not exist
// yet: relative paths in it are taken from path's directory. A writer
// checks with it that what it is about to write will load.
func Decode(path string, data []byte) (*Config, error) {
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c.resolve(dir)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a configuration and fills defaults, without validating it.
// An unknown key is an error that names it.
// A UTF-8 byte-order mark, which Windows Notepad writes, is skipped.
func Parse(data []byte) (*Config, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, describe(data, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("text after the JSON object")
	}
	c.SetDefaults()
	return &c, nil
}

// describe turns encoding/json's errors into ones that name the key or line.
func describe(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line := 1 + bytes.Count(data[:min(int(syn.Offset), len(data))], []byte("\n"))
		return fmt.Errorf("line %d: %v", line, syn)
	case errors.As(err, &typ):
		return &FieldError{Key: typ.Field, Msg: fmt.Sprintf("is %s, want %s", typ.Value, typ.Type)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return &FieldError{Key: strings.Trim(name, `"`), Msg: "unknown key"}
	case errors.Is(err, io.EOF):
		return errors.New("empty file")
	}
	return err
}

// SetDefaults fills the keys that have a default and are empty. An empty
// gateway_url stays empty: the gateway client's default, Alipay's
// production gateway, applies.
func (c *Config) SetDefaults() {
	if c.SignType == "" {
		c.SignType = "RSA2"
	}
	if c.Charset == "" {
		c.Charset = "utf-8"
	}
	// scanner.baud and scanner.terminator stay empty when unset: then the
	// device profile's settings apply, and only without one 9600 and CR.
}

func (c *Config) resolve(dir string) {
	for _, p := range []*string{&c.AppPrivateKey, &c.AlipayPublicKey, &c.AppCert, &c.AlipayCert, &c.AlipayRootCert, &c.EncryptKey, &c.DataDir,
		&c.API.TokenFile, &c.API.TLSCert, &c.API.TLSKey} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
}

// Validate checks every key against its rules and returns Errors naming each
// bad or missing key, or nil. It reads no files: whether a key file parses is
// checked by the gateway client when it is built.
func (c *Config) Validate() error {
	var es Errors
	bad := func(key, format string, args ...any) {
		es = append(es, &FieldError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	required := func(key, v string) bool {
		if strings.TrimSpace(v) == "" {
			bad(key, "required")
			return false
		}
		return true
	}
	maxLen := func(key, v string, n int) {
		if len(v) > n {
			bad(key, "%d characters, at most %d", len(v), n)
		}
	}

	if err := endpoint.Check(c.GatewayURL); c.GatewayURL != "" && err != nil {
		bad("gateway_url", "%v", err)
	}
	if required("app_id", c.AppID) {
		maxLen("app_id", c.AppID, 32)
	}
	required("app_private_key", c.AppPrivateKey)
	certMode := c.AppCert != "" || c.AlipayCert != "" || c.AlipayRootCert != ""
	switch {
	case certMode && c.AlipayPublicKey != "":
		bad("alipay_public_key", "set together with certificates: use alipay_public_key or app_cert/alipay_cert/alipay_root_cert, not both")
	case certMode:
		required("app_cert", c.AppCert)
		required("alipay_cert", c.AlipayCert)
		required("alipay_root_cert", c.AlipayRootCert)
	default:
		required("alipay_public_key", c.AlipayPublicKey)
	}
	if c.SignType != "RSA2" && c.SignType != "RSA" {
		bad("sign_type", "%q: want RSA2 or RSA", c.SignType)
	}
	if !strings.EqualFold(c.Charset, "utf-8") && !strings.EqualFold(c.Charset, "GBK") && !strings.EqualFold(c.Charset, "gb2312") {
		bad("charset", "%q: want utf-8 or GBK (gb2312 is read as GBK)", c.Charset)
	}
	maxLen("app_auth_token", c.AppAuthToken, 40)
	if required("pay_pid", c.PayPID) {
		if !isDigits(c.PayPID) || !strings.HasPrefix(c.PayPID, "2088") || len(c.PayPID) != 16 {
			bad("pay_pid", "%q: an Alipay PID is 16 digits starting with 2088", c.PayPID)
		}
	}
	if required("terminal_id", c.TerminalID) {
		// terminal_id starts every sence_no, which may be 128 characters.
		if len(c.TerminalID) > 32 || !isIDChars(c.TerminalID) {
			bad("terminal_id", "%q: use up to 32 letters, digits, '-' or '_'", c.TerminalID)
		}
	}
	required("data_dir", c.DataDir)
	c.validateScanner(bad)
	c.validateAPI(bad)
	c.validatePayment(bad)
	c.validateQueue(bad)
	c.validateStaff(bad)
	for i, r := range c.Coupons {
		key := fmt.Sprintf("coupons[%d]", i)
		if r.Match.SchoolStdCode == "" && !r.Match.AnyUser {
			bad(key+".match", "set school_std_code or any_user")
		}
		if r.Match.SchoolStdCode != "" && r.Match.AnyUser {
			bad(key+".match", "school_std_code and any_user together: choose one")
		}
		maxLen(key+".match.school_std_code", r.Match.SchoolStdCode, 64)
		if required(key+".tpl_id", r.TplID) {
			maxLen(key+".tpl_id", r.TplID, 999)
		}
		if len(r.TplParams) > 0 {
			var obj map[string]any
			if err := json.Unmarshal(r.TplParams, &obj); err != nil || obj == nil {
				bad(key+".tpl_params", "must be a JSON object")
			}
			maxLen(key+".tpl_params", string(r.TplParams), 99999)
		}
	}
	if c.MerchantCouponURL != "" {
		if err := endpoint.Check(c.MerchantCouponURL); err != nil {
			bad("merchant_coupon_url", "%v", err)
		}
	}
	c.validateInstall(bad)
	if len(es) == 0 {
		return nil
	}
	return es
}

func (c *Config) validateScanner(bad func(key, format string, args ...any)) {
	s := c.Scanner
	switch s.Kind {
	case ScannerSerial:
		if s.Port == "" && (s.VID == "" || s.PID == "") {
			bad("scanner.port", "required for a serial scanner unless scanner.vid and scanner.pid are set")
		}
		if s.Baud != 0 && (s.Baud < 300 || s.Baud > 4000000) {
			bad("scanner.baud", "%d: want a rate from 300 to 4000000", s.Baud)
		}
	case ScannerHID:
		if s.VID == "" || s.PID == "" {
			bad("scanner.vid", "a HID scanner needs scanner.vid and scanner.pid")
		}
	case ScannerWedge, ScannerSim:
	case "":
		bad("scanner.kind", "required: serial, hid, wedge or sim")
	default:
		bad("scanner.kind", "%q: want serial, hid, wedge or sim", s.Kind)
	}
	for _, f := range []struct{ key, v string }{{"scanner.vid", s.VID}, {"scanner.pid", s.PID}} {
		if f.v == "" {
			continue
		}
		if b, err := hex.DecodeString(f.v); err != nil || len(b) != 2 {
			bad(f.key, "%q: want 4 hex digits, e.g. 05e0", f.v)
		}
	}
	if s.Terminator != "" && !contains(Terminators, s.Terminator) {
		bad("scanner.terminator", "%q: want one of %s", s.Terminator, strings.Join(Terminators, ", "))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isIDChars(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '-' || b == '_') {
			return false
		}
	}
	return s != ""
}

// Save validates c and writes it to path atomically: a temporary file in the
// same directory, synced, then renamed over the old one and the directory
// synced. A crash at any moment leaves either the old file or the new one.
func Save(path string, c *Config) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("config %s: not saved: %w", path, err)
	}
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	data = append(data, '\n')
	return WriteFileAtomic(path, data, 0o600)
}

// WriteFileAtomic writes data to path with perm atomically: a temporary
// file in the same directory, synced, then renamed over the old one and the
// directory synced. A crash at any moment leaves either the old file or the
// new one, and once it returns nil the new one survives a power cut.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("config %s: write: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("config %s: sync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("config %s: close: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		// Directory sync makes the rename durable; not supported on Windows.
		d.Sync()
		d.Close()
	}
	return nil
}
