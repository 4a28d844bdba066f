package alipaytest

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"posagent/internal/alipay"
)

func TestFaults(t *testing.T) {
	s := newServer(t)
	for _, tt := range []struct {
		name  string
		fault Fault
		check func(t *testing.T, a *answer, err error)
	}{
		{"drop", Fault{Drop: true}, func(t *testing.T, a *answer, err error) {
			var ue *url.Error
			if !errors.As(err, &ue) {
				t.Fatalf("want a transport error, got %v %v", a, err)
			}
		}},
		{"HTTP 502", Fault{HTTPStatus: 502}, func(t *testing.T, a *answer, err error) {
			if err != nil || a.status != 502 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/plain") || a.key != "" {
				t.Fatalf("%v %v", a, err)
			}
		}},
		{"HTML page, 200", Fault{HTML: true}, func(t *testing.T, a *answer, err error) {
			if err != nil || a.status != 200 || !bytes.HasPrefix(a.body, []byte("<!DOCTYPE html>")) || a.header.Get("Content-Type") != "text/html;charset=utf-8" {
				t.Fatalf("%v %v", a, err)
			}
		}},
		{"HTML page, 503", Fault{HTML: true, HTTPStatus: 503}, func(t *testing.T, a *answer, err error) {
			if err != nil || a.status != 503 || !bytes.Contains(a.body, []byte("<h1>503 Service Unavailable</h1>")) {
				t.Fatalf("%v %v", a, err)
			}
		}},
		{"bad sign", Fault{BadSign: true}, func(t *testing.T, a *answer, err error) {
			if err != nil || a.str("code") != alipay.CodeSuccess || a.sign == "" {
				t.Fatalf("%v %v", a, err)
			}
			if alipay.Verify(a.value, a.sign, s.AlipayPublicKey(), alipay.RSA2) == nil {
				t.Fatal("bad sign verifies")
			}
		}},
		{"code 20000", Fault{Code20000: true}, func(t *testing.T, a *answer, err error) {
			s.business(t, a, alipay.CodeServiceUnavailable, alipay.SubUnknownError)
			if a.str("msg") != "Service Currently Unavailable" || a.str("sub_msg") != "系统繁忙" {
				t.Fatalf("%s", a.value)
			}
		}},
		{"code 20000, bad sign", Fault{Code20000: true, BadSign: true}, func(t *testing.T, a *answer, err error) {
			if a.str("code") != alipay.CodeServiceUnavailable || alipay.Verify(a.value, a.sign, s.AlipayPublicKey(), alipay.RSA2) == nil {
				t.Fatalf("%s", a.body)
			}
		}},
		{"SYSTEM_ERROR", Fault{SubCode: alipay.SubSystemError}, func(t *testing.T, a *answer, err error) {
			s.business(t, a, alipay.CodeBusinessFailed, alipay.SubSystemError)
		}},
		{"DECODE_FAILED", Fault{SubCode: alipay.SubDecodeFailed}, func(t *testing.T, a *answer, err error) {
			s.business(t, a, alipay.CodeBusinessFailed, alipay.SubDecodeFailed)
			if a.str("sub_msg") != "业务异常解码失败" {
				t.Fatalf("sub_msg %q", a.str("sub_msg"))
			}
		}},
		{"latency", Fault{Latency: 20 * time.Millisecond}, func(t *testing.T, a *answer, err error) {
			s.business(t, a, alipay.CodeSuccess, "")
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s.SetFault(alipay.MethodTwostageCommonUse, tt.fault)
			defer s.ClearFaults()
			a, err := s.post(t, twostageCall(t, s))
			tt.check(t, a, err)
			reqs := s.Requests()
			if r := reqs[len(reqs)-1]; r.Fault == "" {
				t.Fatalf("request not marked with the fault: %+v", r)
			}
		})
	}
}

func TestLatencyOutlastsClient(t *testing.T) {
	s := newServer(t)
	s.SetFault("", Fault{Latency: time.Minute})
	c := twostageCall(t, s)
	c.client = &http.Client{Timeout: 50 * time.Millisecond}
	_, err := s.post(t, c)
	var ue *url.Error
	if !errors.As(err, &ue) || !ue.Timeout() {
		t.Fatalf("want a client timeout, got %v", err)
	}
	// The handler gives up with the client: Close (from Cleanup) does not wait a minute.
}

func TestCloseEndsLatency(t *testing.T) {
	testKeys(t)
	s := NewServer(WithAppKey(appKey), WithAlipayKey(alipayKey))
	s.SetFault("", Fault{Latency: time.Hour})
	done := make(chan error, 1)
	go func() {
		_, err := s.post(t, twostageCall(t, s))
		done <- err
	}()
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for a request in its latency")
	}
	if err := <-done; err == nil {
		t.Fatal("request answered by a closed server")
	}
	s.Close() // twice is fine
}

func TestFaultCountAndScope(t *testing.T) {
	s := newServer(t)
	s.SetFault("", Fault{HTTPStatus: 502})
	s.SetFault(alipay.MethodPassInstanceAdd, Fault{Code20000: true, Count: 2})
	pass := func() *answer {
		return addPass(t, s, passBiz(t, "tpl", map[string]string{"serialNumber": "COUNT"}))
	}
	// The method's own fault wins, for its two requests.
	for range 2 {
		s.business(t, pass(), alipay.CodeServiceUnavailable, alipay.SubUnknownError)
	}
	// Then the fault for every method applies.
	if a := pass(); a.status != 502 {
		t.Fatalf("status %d", a.status)
	}
	if a := s.do(t, twostageCall(t, s)); a.status != 502 {
		t.Fatalf("status %d", a.status)
	}
	s.SetFault("", Fault{}) // the zero Fault clears
	s.business(t, pass(), alipay.CodeSuccess, "")
	if n := len(s.Passes()); n != 1 {
		t.Fatalf("%d passes: faults before processing must not issue", n)
	}
}

// TestLostAnswer is the case exactly-once issuing exists for: the gateway
// issues the pass and the answer is lost; the retry gets the same pass.
func TestLostAnswer(t *testing.T) {
	s := newServer(t)
	biz := passBiz(t, "tpl", map[string]string{"serialNumber": "LOST-1"})
	for _, f := range []Fault{{Drop: true, Processed: true, Count: 1}, {Code20000: true, Processed: true, Count: 1}, {HTTPStatus: 504, Processed: true, Count: 1}} {
		s.SetFault(alipay.MethodPassInstanceAdd, f)
		a, err := s.post(t, call{method: alipay.MethodPassInstanceAdd, biz: bizJSON(t, biz)})
		if err == nil && a.str("code") == alipay.CodeSuccess {
			t.Fatalf("fault %+v answered success", f)
		}
	}
	a := addPass(t, s, biz)
	s.business(t, a, alipay.CodeSuccess, "")
	ps := s.Passes()
	if len(ps) != 1 || ps[0].Requests != 4 || passResultOf(t, a).PassID != ps[0].PassID {
		t.Fatalf("passes %+v", ps)
	}
}

func TestDown(t *testing.T) {
	s := newServer(t)
	client := &http.Client{Transport: &http.Transport{}} // keeps its connection alive
	c := twostageCall(t, s)
	c.client = client
	s.business(t, s.do(t, c), alipay.CodeSuccess, "")

	if err := s.SetDown(true); err != nil {
		t.Fatal(err)
	}
	if !s.Down() {
		t.Fatal("not down")
	}
	c = twostageCall(t, s)
	c.client = client
	if _, err := s.post(t, c); err == nil {
		t.Fatal("the kept-alive connection still answers while down")
	}
	if _, err := s.post(t, twostageCall(t, s)); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("want connection refused, got %v", err)
	}
	if err := s.SetDown(false); err != nil {
		t.Fatal(err)
	}
	c = twostageCall(t, s)
	c.client = client
	s.business(t, s.do(t, c), alipay.CodeSuccess, "")
}

func TestDownFor(t *testing.T) {
	s := newServer(t)
	if err := s.DownFor(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if !s.Down() { // what being down does to requests, TestDown shows
		t.Fatal("not down")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitUp(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Down() {
		t.Fatal("Down after coming back")
	}
	s.business(t, s.do(t, twostageCall(t, s)), alipay.CodeSuccess, "")
}

func TestDownAfterClose(t *testing.T) {
	testKeys(t)
	s := NewServer(WithAppKey(appKey), WithAlipayKey(alipayKey))
	if err := s.SetDown(true); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.SetDown(false); err == nil {
		t.Fatal("came back up after Close")
	}
	if err := s.WaitUp(context.Background()); err == nil {
		t.Fatal("WaitUp on a closed server")
	}
}
