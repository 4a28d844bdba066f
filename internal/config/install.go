package config

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// AppPay configures app payments (alipay.trade.app.pay order strings).
type AppPay struct {
	// NotifyURL is where Alipay sends the trade_status_sync notification
	// of an app payment: the merchant's server, reachable from the
	// internet, not posagent (see docs/install-linux.md).
	NotifyURL string `json:"notify_url,omitempty"`
}

// validateInstall checks the keys that make a setup a real till or a test
// one.
func (c *Config) validateInstall(bad func(key, format string, args ...any)) {
	if c.AppPay.NotifyURL != "" {
		u, err := url.Parse(c.AppPay.NotifyURL)
		switch {
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			bad("app_pay.notify_url", "%q is not an http(s) URL", c.AppPay.NotifyURL)
		case len(c.AppPay.NotifyURL) > 256:
			bad("app_pay.notify_url", "%d characters, at most 256", len(c.AppPay.NotifyURL))
		case u.RawQuery != "":
			bad("app_pay.notify_url", "has a query string: Alipay calls it without one")
		}
	}
	// A simulated scanner reads codes from a script: on a till that talks to
	// the real gateway it would leave the till in test mode, reading no
	// customer's code.
	if c.Scanner.Kind == ScannerSim && !LoopbackURL(c.GatewayURL) {
		bad("scanner.kind", "sim is a test scanner: refused with gateway_url %q, which is not on this PC (loopback); use serial, hid or wedge", c.GatewayURL)
	}
}

// LoopbackURL reports whether rawURL names a host on this PC: localhost or a
// loopback address. The fake gateway and the simulated scanner run only
// against such a gateway.
func LoopbackURL(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Read decodes the file at path and resolves its relative paths as Load
// does, without validating: `posagent doctor` reports every problem of a
// configuration, not only the first that stops a start.
func Read(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	c.resolve(dir)
	return c, nil
}

// Keys lists the keys that have a problem, in the file's order, each once.
func (es Errors) Keys() []string {
	var keys []string
	for _, e := range es {
		if len(keys) == 0 || keys[len(keys)-1] != e.Key {
			keys = append(keys, e.Key)
		}
	}
	return keys
}
