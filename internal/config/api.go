package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// DefaultAPIListen is where the local API listens when api.listen is unset.
const DefaultAPIListen = "127.0.0.1:7450"

// APIOff as api.listen turns the local API off.
const APIOff = "off"

// API configures the local HTTP API for the POS software (key "api").
type API struct {
	Listen       string   `json:"listen,omitempty"`        // host:port, or "off"; DefaultAPIListen when empty
	TokenFile    string   `json:"token_file,omitempty"`    // path; data_dir/api-token when empty
	AllowOrigins []string `json:"allow_origins,omitempty"` // exact origins of a browser-based POS
	TLSCert      string   `json:"tls_cert,omitempty"`      // paths: required to listen beyond loopback
	TLSKey       string   `json:"tls_key,omitempty"`
}

// ListenAddr is the address the API listens on: api.listen or its default
// ("off" when it is off).
func (a API) ListenAddr() string {
	if a.Listen == "" {
		return DefaultAPIListen
	}
	return a.Listen
}

// Loopback reports whether addr's host names only this machine: a
// loopback IP or "localhost". An empty host (every interface) is not.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Config) validateAPI(bad func(key, format string, args ...any)) {
	a := c.API
	addr := a.ListenAddr()
	if addr != APIOff {
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			bad("api.listen", "%q: want host:port (e.g. %s) or %q", addr, DefaultAPIListen, APIOff)
		} else if !Loopback(addr) && (a.TLSCert == "" || a.TLSKey == "") {
			key := "api.tls_cert"
			if a.TLSCert != "" {
				key = "api.tls_key"
			}
			bad(key, "required to listen on %s, which is not loopback", addr)
		}
	}
	if (a.TLSCert == "") != (a.TLSKey == "") {
		key := "api.tls_key"
		if a.TLSCert == "" {
			key = "api.tls_cert"
		}
		bad(key, "set api.tls_cert and api.tls_key together")
	}
	for i, o := range a.AllowOrigins {
		u, err := url.Parse(o)
		if o == "*" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			bad(fmt.Sprintf("api.allow_origins[%d]", i), "%q: want an exact origin such as https://pos.example.com (no path, no *)", o)
		}
	}
}
