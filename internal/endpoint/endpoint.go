// Package endpoint holds the rules for the URLs posagent posts to (the
// Alipay gateway, the merchant's coupon lookup): what they carry, a signed
// request with a payment code or a customer's user id, may travel in clear
// only to this machine, and never to wherever a redirect points.
package endpoint

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// ErrRedirect is wrapped by the error of a request that was answered with
// a redirect: it is not followed.
var ErrRedirect = errors.New("redirect refused")

// Check returns an error unless raw is an https URL, or an http URL of a
// loopback address (127.0.0.0/8, ::1, localhost: tests and the demo).
func Check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", raw, err)
	}
	switch {
	case u.Host == "":
		return fmt.Errorf("%q has no host", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme != "http":
		return fmt.Errorf("%q is not an https URL", raw)
	case !Loopback(u.Hostname()):
		return fmt.Errorf("%q: http:// is only for this machine (127.0.0.1, ::1, localhost); use https://", raw)
	}
	return nil
}

// Loopback reports whether host names this machine without a DNS lookup.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NoRedirect is an http.Client's CheckRedirect that follows no redirect: a
// 307 or 308 would re-post the body (a signed request holding a payment
// code) to wherever Location points, https to http included. The error
// names the Location.
func NoRedirect(req *http.Request, via []*http.Request) error {
	return fmt.Errorf("%w: %s answered %s with a redirect to %s", ErrRedirect, via[0].URL.Host, via[len(via)-1].Method, req.URL.Redacted())
}

// Client returns a copy of c that follows no redirect.
func Client(c *http.Client) *http.Client {
	out := *c
	out.CheckRedirect = NoRedirect
	return &out
}
