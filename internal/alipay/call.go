package alipay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// send is the envelope every gateway method goes through: biz (the request,
// checked already) serialized once as biz_content, signed, sent once ready
// (if not nil) returns nil, the answer verified and its code checked, and
// the verified response object turned into the method's answer by parse.
// An error of parse that is not an *Error already becomes one, as a
// malformed answer.
func send[R any](ctx context.Context, c *Client, method string, biz any, ready func() error, parse func(obj []byte) (R, error)) (R, error) {
	var zero R
	text, err := marshalBiz(biz)
	if err != nil {
		return zero, &Error{Method: method, Err: err}
	}
	obj, err := c.call(ctx, method, text, ready)
	if err != nil {
		return zero, err
	}
	r, err := parse(obj)
	if err != nil {
		if _, ok := err.(*Error); !ok {
			err = &Error{Method: method, HTTPStatus: 200, Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
		}
		return zero, err
	}
	return r, nil
}

// decodeAs is the parse of a method whose answer needs no check beyond
// its JSON.
func decodeAs[R any](obj []byte) (*R, error) {
	r := new(R)
	if err := json.Unmarshal(obj, r); err != nil {
		return nil, err
	}
	return r, nil
}

// ignore is the parse of a method whose success is its whole answer.
func ignore([]byte) (struct{}, error) { return struct{}{}, nil }

// param is one common or business parameter of a request.
type param struct{ k, v string }

// call sends one signed request of method with biz (already serialized once:
// the same string is signed and sent) and returns the verified response
// object, decrypted and in UTF-8, after checking its code. A non-nil ready
// is called between signing and sending; its error stops the request.
func (c *Client) call(ctx context.Context, method, biz string, ready func() error) ([]byte, error) {
	body, err := c.requestBody(method, biz, c.aes != nil)
	if err != nil {
		return nil, err
	}
	if ready != nil {
		if err := ready(); err != nil {
			return nil, &Error{Method: method, Err: fmt.Errorf("not sent: %w", err)}
		}
	}
	status, raw, err := c.post(ctx, method, body)
	if err != nil {
		return nil, err
	}
	return c.parseResponse(ctx, method, status, raw)
}

// acceptJSON is the requests' Accept header value, shared by all: the
// transport only reads it.
var acceptJSON = []string{"application/json"}

// post sends a form body to the gateway and reads the answer. The request is
// built as http.NewRequestWithContext would build it, on the URL parsed
// once: the client sends many small requests to one address.
func (c *Client) post(ctx context.Context, method string, body []byte) (int, []byte, error) {
	req := (&http.Request{
		Method:        http.MethodPost,
		URL:           c.endpoint,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": c.contentType, "Accept": acceptJSON},
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		// A kept-alive connection the gateway closed meanwhile is
		// retried on a new one, as for a request from NewRequest.
		GetBody: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
		Host:    c.endpoint.Host,
	}).WithContext(ctx)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, &Error{Method: method, Err: transportError(err)}
	}
	defer resp.Body.Close()
	raw, err := readBody(resp)
	if err != nil {
		return 0, nil, &Error{Method: method, HTTPStatus: resp.StatusCode, Err: transportError(err)}
	}
	return resp.StatusCode, raw, nil
}

// readBody reads at most maxResponse+1 bytes of an answer, into a buffer of
// the announced length when there is one.
func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= maxResponse {
		raw := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, raw); err != nil {
			return nil, err
		}
		return raw, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
}

// requestBody builds the signed form body of a request: the common
// parameters, biz_content (encrypted if encrypt), the signature over
// their canonical string in the request charset, all url-encoded in that
// charset.
func (c *Client) requestBody(method, biz string, encrypt bool) ([]byte, error) {
	ps, err := c.signedParams(method, biz, encrypt)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, p := range ps {
		n += len(p.k) + len(p.v)*3/2 + 2
	}
	b := make([]byte, 0, n)
	for i, p := range ps {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, p.k...)
		b = append(b, '=')
		b = appendQueryEscape(b, p.v)
	}
	return b, nil
}

// signedParams returns the request's parameters sorted by key, values in the
// request charset, the last one being sign. encrypt encrypts biz_content.
func (c *Client) signedParams(method, biz string, encrypt bool, extra ...param) ([]param, error) {
	if encrypt {
		enc, err := c.aes.encrypt(biz, c.gbk)
		if err != nil {
			return nil, &Error{Method: method, Err: &FieldError{Field: "biz_content", Msg: err.Error()}}
		}
		biz = enc
	}
	ps := make([]param, 0, 14+len(extra))
	if c.certs != nil {
		ps = append(ps, param{"alipay_root_cert_sn", c.certs.rootSN})
	}
	if c.appAuthToken != "" {
		ps = append(ps, param{"app_auth_token", c.appAuthToken})
	}
	if c.certs != nil {
		ps = append(ps, param{"app_cert_sn", c.certs.appSN})
	}
	ps = append(ps,
		param{"app_id", c.appID},
		param{"biz_content", biz},
		param{"charset", c.charset},
	)
	if encrypt {
		ps = append(ps, param{"encrypt_type", "AES"})
	}
	ps = append(ps,
		param{"format", "JSON"},
		param{"method", method},
		param{"sign_type", string(c.signType)},
		param{"timestamp", c.timestamp()},
		param{"version", "1.0"},
	)
	if len(extra) > 0 {
		ps = append(ps, extra...)
		sortParams(ps)
	}
	if c.gbk {
		for i := range ps {
			v, err := toGBK(ps[i].v)
			if err != nil {
				return nil, &Error{Method: method, Err: &FieldError{Field: ps[i].k, Msg: err.Error()}}
			}
			ps[i].v = v
		}
	}
	content := canonical(ps)
	sig, err := Sign(content, c.key, c.signType)
	if err != nil {
		return nil, &Error{Method: method, Err: err}
	}
	return append(ps, param{"sign", sig}), nil
}

// sortParams sorts by key with an insertion sort: a request has about a
// dozen parameters, most already in order.
func sortParams(ps []param) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].k < ps[j-1].k; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// canonical is CanonicalString over sorted params: empty values and sign left
// out, raw key=value joined by '&'.
func canonical(ps []param) []byte {
	n := 0
	for _, p := range ps {
		n += len(p.k) + len(p.v) + 2
	}
	b := make([]byte, 0, n)
	for _, p := range ps {
		if p.v == "" || p.k == "sign" {
			continue
		}
		if len(b) > 0 {
			b = append(b, '&')
		}
		b = append(b, p.k...)
		b = append(b, '=')
		b = append(b, p.v...)
	}
	return b
}

// appendQueryEscape appends s url-encoded for a form body (space as '+'),
// byte by byte, so that GBK bytes are escaped as they are.
func appendQueryEscape(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9',
			ch == '-', ch == '_', ch == '.', ch == '~':
			b = append(b, ch)
		case ch == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', hex[ch>>4], hex[ch&15])
		}
	}
	return b
}

// marshalBiz serializes a biz_content once: JSON without HTML escaping (the
// gateway would sign "<" and "&" as written, and so do we) and without the
// encoder's trailing newline.
func marshalBiz(v any) (string, error) {
	e := bizEncoders.Get().(*bizEncoder)
	defer bizEncoders.Put(e)
	e.buf.Reset()
	if err := e.enc.Encode(v); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(e.buf.Bytes(), []byte("\n"))), nil
}

// bizEncoder is a JSON encoder without HTML escaping and its buffer, kept
// for the next request.
type bizEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var bizEncoders = sync.Pool{New: func() any {
	e := new(bizEncoder)
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}
