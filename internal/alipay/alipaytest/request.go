package alipaytest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// Request is what the server saw of one request.
type Request struct {
	Method  string
	Params  url.Values     // every parameter, form and query, decoded to UTF-8
	Biz     map[string]any // biz_content decoded (decrypted first); nil if absent or not a JSON object
	At      time.Time      // the server's clock
	Charset string         // "utf-8" or "GBK"
	Code    string         // the code answered; empty when a fault cut the answer
	SubCode string
	Fault   string // what a fault did to it: "drop", "http 502", "html", "code 20000", "sub_code X", "bad sign", "latency"
}

// maxBody bounds a request body; the gateway's biz_content is unbounded on
// paper, but nothing posagent sends comes near this.
const maxBody = 1 << 20

// inbound is a parsed request.
type inbound struct {
	raw        map[string]string // first value of each parameter, bytes as sent
	params     url.Values        // decoded to UTF-8
	charset    string            // "utf-8" or "GBK"
	badCharset string            // the charset named, when it is not one the gateway knows
	badBytes   string            // a parameter whose bytes are not valid in the charset
	readErr    error
}

func (in *inbound) get(k string) string { return in.params.Get(k) }

// charsetOf names a charset the gateway accepts, canonically.
func charsetOf(name string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "utf-8", "utf8":
		return "utf-8", true
	case "gbk", "gb2312":
		return "GBK", true
	}
	return "", false
}

// parseRequest reads parameters the way the gateway does: the charset from
// the query string (where clients must put it, because it says how to read
// the body), then the form body and the query, body first.
func parseRequest(r *http.Request, defaultCharset string) *inbound {
	in := &inbound{raw: map[string]string{}, params: url.Values{}}
	query, _ := url.ParseQuery(r.URL.RawQuery)
	var body url.Values
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		switch {
		case err != nil:
			in.readErr = fmt.Errorf("read body: %w", err)
		case len(b) > maxBody:
			in.readErr = fmt.Errorf("body over %d bytes", maxBody)
		default:
			body, _ = url.ParseQuery(string(b))
		}
	}
	for _, vs := range []url.Values{body, query} {
		for k, v := range vs {
			if _, ok := in.raw[k]; !ok && len(v) > 0 {
				in.raw[k] = v[0]
			}
		}
	}
	name := query.Get("charset")
	if name == "" {
		name = in.raw["charset"]
	}
	if name == "" {
		name = defaultCharset
	}
	cs, ok := charsetOf(name)
	if !ok {
		in.badCharset = name
		cs = "utf-8"
	}
	in.charset = cs
	for k, v := range in.raw {
		d, ok := decodeText(v, cs)
		if !ok && in.badBytes == "" {
			in.badBytes = k
		}
		in.params.Set(k, d)
	}
	return in
}

// decodeText turns bytes in the charset into UTF-8; false if they are not
// valid in it.
func decodeText(s, charset string) (string, bool) {
	if charset != "GBK" {
		return s, utf8.ValidString(s)
	}
	d, err := simplifiedchinese.GBK.NewDecoder().String(s)
	if err != nil || strings.ContainsRune(d, utf8.RuneError) {
		return d, false
	}
	return d, true
}

// encodeText turns UTF-8 into the charset; characters GBK lacks become '?',
// as the gateway writes them.
func encodeText(s, charset string) []byte {
	if charset != "GBK" {
		return []byte(s)
	}
	enc := simplifiedchinese.GBK.NewEncoder()
	if e, err := enc.String(s); err == nil {
		return []byte(e)
	}
	var b strings.Builder
	for _, r := range s {
		e, err := enc.String(string(r))
		if err != nil {
			e = "?"
		}
		b.WriteString(e)
	}
	return []byte(b.String())
}

// gbkOK reports whether GBK can hold s.
func gbkOK(s string) bool {
	_, err := simplifiedchinese.GBK.NewEncoder().String(s)
	return err == nil
}
