package alipaytest

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"posagent/internal/alipay"
)

// Fault is trouble the server makes on purpose. Several fields may be set:
// Latency comes first, then the first of Drop, HTML, HTTPStatus, Code20000,
// SubCode; BadSign spoils the signature of whatever signed answer goes out.
type Fault struct {
	Latency    time.Duration // wait this long before answering (less if the client gives up)
	Drop       bool          // close the connection without an answer
	HTTPStatus int           // answer this status with a plain text body (e.g. 502)
	HTML       bool          // answer an HTML error page, status HTTPStatus or 200
	BadSign    bool          // sign the answer wrongly
	Code20000  bool          // answer 20000 isp.unknow-error
	SubCode    string        // answer 40004 Business Failed with this sub_code (SYSTEM_ERROR, DECODE_FAILED, ...)
	SubMsg     string        // with SubCode: this sub_msg instead of the gateway's usual text
	// Processed carries the request out before the fault hits, as when the
	// gateway did the work and the answer was lost: a pass is issued, an
	// agreement confirmed, a code's sence_no recorded.
	Processed bool
	Count     int // the fault hits the next Count requests; 0 until cleared
}

// SetFault scripts a fault for one method, or for every method when method
// is "". A method's own fault wins over the one for all. The zero Fault
// clears.
func (s *Server) SetFault(method string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == (Fault{}) {
		delete(s.faults, method)
		return
	}
	s.faults[method] = &f
}

// ClearFaults removes every scripted fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// takeFault returns the fault for a request to method, counting it down.
func (s *Server) takeFault(method string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := method
	f, ok := s.faults[key]
	if !ok {
		key = ""
		if f, ok = s.faults[key]; !ok {
			return Fault{}, false
		}
	}
	if f.Count > 0 {
		f.Count--
		if f.Count == 0 {
			delete(s.faults, key)
		}
	}
	return *f, true
}

// cut answers with a fault that replaces the gateway's answer; false if the
// fault leaves the answer to the gateway.
func (s *Server) cut(w http.ResponseWriter, f Fault, rec *Request) bool {
	switch {
	case f.Drop:
		rec.Fault = "drop"
		drop(w)
	case f.HTML:
		status := f.HTTPStatus
		if status == 0 {
			status = http.StatusOK
		}
		rec.Fault = "html"
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, htmlPage, status, http.StatusText(status), status, http.StatusText(status))
	case f.HTTPStatus != 0:
		rec.Fault = fmt.Sprintf("http %d", f.HTTPStatus)
		w.Header().Set("Content-Type", "text/plain;charset=utf-8")
		w.WriteHeader(f.HTTPStatus)
		fmt.Fprintln(w, http.StatusText(f.HTTPStatus))
	default:
		return false
	}
	return true
}

// faultReply is the gateway-made answer a fault asks for, or nil.
func faultReply(method string, f Fault, rec *Request) *reply {
	switch {
	case f.Code20000:
		rec.Fault = "code 20000"
		return failure(method, alipay.CodeServiceUnavailable, alipay.SubUnknownError, "系统繁忙")
	case f.SubCode != "":
		rec.Fault = "sub_code " + f.SubCode
		msg := subMsgs[f.SubCode]
		if f.SubMsg != "" {
			msg = f.SubMsg
		}
		return failure(method, alipay.CodeBusinessFailed, f.SubCode, msg)
	}
	return nil
}

// drop closes the connection under the request without a byte of answer.
func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	c, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	c.Close()
}

// htmlPage is what a proxy in front of the gateway serves when it fails.
const htmlPage = `<!DOCTYPE html>
<html>
<head><title>%d %s</title></head>
<body>
<center><h1>%d %s</h1></center>
<hr><center>Tengine</center>
</body>
</html>
`

// faultNames joins what a fault did, for Request.Fault.
func faultNames(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}
