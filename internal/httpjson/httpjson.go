// Package httpjson is the JSON side of posagent's local API, shared by every
// package that serves part of it: request bodies decoded strictly (a size
// cap, UTF-8 only, every key exactly a field's JSON name and given once,
// one value only) and errors in one shape, {"error": {"code": "...",
// "message": "..."}}, so that a POS developer handles every endpoint's
// failures the same way.
package httpjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// TimeLayout is how the API writes times: RFC 3339 with milliseconds, in
// the PC's zone, the same as an event's "time".
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is a time.Time that encodes as TimeLayout, so that every time a POS
// reads from the API parses the same way. It decodes any RFC 3339 time.
type Time struct{ time.Time }

// MarshalJSON writes t as TimeLayout.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.Format(TimeLayout) + `"`), nil
}

// MaxBody caps a request body when Decode is given no limit: every request
// of the API is a few hundred bytes.
const MaxBody = 64 << 10

// ErrorBody is the JSON of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong: Code is a stable word for programs
// ("bad_request", "unauthorized", "not_found", "conflict", ...), Message a
// sentence for the person at the till.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Write sends v as JSON with the status.
func Write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// Error sends an error answer.
func Error(w http.ResponseWriter, status int, code, message string) {
	Write(w, status, ErrorBody{ErrorDetail{Code: code, Message: message}})
}

// BadRequest is a request body that cannot be used; its message names what
// is wrong (the field, the type, the size).
type BadRequest struct {
	Status int // 400, or 413 for a body over the cap, 415 for another type
	Msg    string
}

func (e *BadRequest) Error() string { return e.Msg }

// Decode reads r's JSON body into v: Content-Type application/json (415
// otherwise, also when it is missing or names a charset other than UTF-8),
// at most max bytes (MaxBody when max is 0), valid UTF-8, exactly one value,
// and in every object of it each key once and spelled exactly as a field of
// v's type at that place (see checkKeys). Every failure is a *BadRequest
// whose message names the field or the problem. The body is checked whole
// before anything is decoded, but a value of the wrong type is found only
// while decoding: v may be partly filled then, so callers act on nothing
// until Decode returned nil.
func Decode(w http.ResponseWriter, r *http.Request, v any, max int64) error {
	if max <= 0 {
		max = MaxBody
	}
	if err := jsonType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		return decodeError(err, max)
	}
	if i := invalidUTF8(body); i >= 0 {
		return &BadRequest{http.StatusBadRequest, fmt.Sprintf("body is not valid UTF-8 (at byte %d); send the JSON in UTF-8", i)}
	}
	if err := checkKeys(body, reflect.TypeOf(v)); err != nil {
		return err
	}
	if i := loneSurrogate(body); i >= 0 {
		return &BadRequest{http.StatusBadRequest, fmt.Sprintf("body: the \\u escape at byte %d is half of a UTF-16 surrogate pair; send valid text", i)}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, max)
	}
	return nil
}

// invalidUTF8 is the offset of the first byte of body that is not UTF-8,
// or -1. encoding/json would turn such bytes into U+FFFD: a subject sent
// in GBK would reach the gateway mangled instead of refused.
func invalidUTF8(body []byte) int {
	if utf8.Valid(body) {
		return -1
	}
	for i := 0; i < len(body); {
		r, n := utf8.DecodeRune(body[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// loneSurrogate is the offset of the first \uD800-\uDFFF escape of body
// that is not half of a high-low pair, or -1. encoding/json turns one into
// U+FFFD as it does invalid bytes. body is valid JSON (checkKeys passed),
// so a backslash is inside a string and starts an escape.
func loneSurrogate(body []byte) int {
	escape := func(i int) (rune, bool) {
		if i+6 > len(body) || body[i] != '\\' || body[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(body[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			continue
		}
		r, ok := escape(i)
		switch {
		case !ok:
			i++ // \" \\ \n ...: skip the escaped character
		case utf16.IsSurrogate(r):
			if low, ok := escape(i + 6); r >= 0xdc00 || !ok || utf16.DecodeRune(r, low) == utf8.RuneError {
				return i
			}
			i += 11
		default:
			i += 5
		}
	}
	return -1
}

// jsonType requires the body to say it is JSON, in UTF-8 if it names a
// charset. A missing type is refused too: it also keeps out the "simple"
// cross-site POSTs a browser sends without a preflight (text/plain, forms),
// whatever CORS allows.
func jsonType(ct string) error {
	if ct == "" {
		return &BadRequest{http.StatusUnsupportedMediaType, "no Content-Type; send Content-Type: application/json"}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return &BadRequest{http.StatusUnsupportedMediaType, fmt.Sprintf("body is %q; send Content-Type: application/json", ct)}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return &BadRequest{http.StatusUnsupportedMediaType, fmt.Sprintf("charset %q: only UTF-8 JSON is taken; send the body in UTF-8 with Content-Type: application/json", cs)}
	}
	return nil
}

func decodeError(err error, max int64) error {
	var (
		mbe *http.MaxBytesError
		ute *json.UnmarshalTypeError
		se  *json.SyntaxError
	)
	switch {
	case errors.As(err, &mbe):
		return &BadRequest{http.StatusRequestEntityTooLarge, fmt.Sprintf("body is over %d bytes", max)}
	case errors.As(err, &ute):
		field := ute.Field
		if field == "" {
			field = "body"
		}
		return &BadRequest{http.StatusBadRequest, fmt.Sprintf("%s: want %s, got JSON %s", field, jsonKind(ute.Type), ute.Value)}
	case errors.As(err, &se):
		return &BadRequest{http.StatusBadRequest, fmt.Sprintf("body is not JSON: %v (at byte %d)", se, se.Offset)}
	case errors.Is(err, io.EOF):
		return &BadRequest{http.StatusBadRequest, "body is empty; send a JSON object"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &BadRequest{http.StatusBadRequest, "body ends in the middle of a JSON value"}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return &BadRequest{http.StatusBadRequest, "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")}
	}
	return &BadRequest{http.StatusBadRequest, "body: " + err.Error()}
}

// DecodeOrFail is Decode that answers the error itself; it reports whether
// the handler may go on.
func DecodeOrFail(w http.ResponseWriter, r *http.Request, v any, max int64) bool {
	err := Decode(w, r, v, max)
	if err == nil {
		return true
	}
	var br *BadRequest
	if errors.As(err, &br) {
		Error(w, br.Status, "bad_request", br.Msg)
	} else {
		Error(w, http.StatusBadRequest, "bad_request", err.Error())
	}
	return false
}

// Fallbacks gives mux the API's JSON errors where it would answer plain
// text: for each path of patterns ("METHOD /path", as mux serves them) a
// 405 whose Allow header names the path's methods, and a 404 for every
// other path.
func Fallbacks(mux *http.ServeMux, patterns []string) {
	allowed := map[string][]string{}
	for _, p := range patterns {
		method, path, _ := strings.Cut(p, " ")
		allowed[path] = append(allowed[path], method)
	}
	for path, methods := range allowed {
		slices.Sort(methods)
		allow := strings.Join(methods, ", ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			Error(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" "+r.URL.Path+": use "+allow)
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		Error(w, http.StatusNotFound, "not_found", "no route "+r.URL.Path+" (see /v1/openapi.json)")
	})
}
