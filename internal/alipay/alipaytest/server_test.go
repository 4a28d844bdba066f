package alipaytest

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"posagent/internal/alipay"
)

func TestUnstartedServer(t *testing.T) {
	testKeys(t)
	s := NewUnstartedServer(WithAppKey(appKey), WithAlipayKey(alipayKey), WithAppID("2021000000000777"), WithAddr("127.0.0.1:0"))
	defer s.Close()
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || !strings.HasSuffix(s.URL(), "/gateway.do") {
		t.Fatalf("URL %s", s.URL())
	}
	// The port is taken before Start, so it can go into a config file first.
	if _, err := net.Listen("tcp", strings.TrimSuffix(strings.TrimPrefix(s.URL(), "http://"), "/gateway.do")); err == nil {
		t.Fatal("port not held before Start")
	}
	s.Start()
	c := twostageCall(t, s)
	a := s.do(t, c)
	s.business(t, a, alipay.CodeSuccess, "")
	if got := s.Requests()[0].Params.Get("app_id"); got != "2021000000000777" {
		t.Fatalf("app_id %s", got)
	}
}

// TestGeneratedKeys runs a server on keys of its own, as the demo does.
func TestGeneratedKeys(t *testing.T) {
	s := NewServer()
	defer s.Close()
	if s.AppKey().N.BitLen() != 2048 || s.AlipayPublicKey().N.BitLen() != 2048 || s.AppKey().PublicKey.Equal(s.AlipayPublicKey()) {
		t.Fatal("keys")
	}
	s.business(t, s.do(t, twostageCall(t, s)), alipay.CodeSuccess, "")
}

func TestBadOptionsPanic(t *testing.T) {
	for name, opt := range map[string]Option{
		"charset":   WithCharset("big5"),
		"sign type": WithSignType("MD5"),
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			testKeys(t)
			NewUnstartedServer(WithAppKey(appKey), WithAlipayKey(alipayKey), opt).Close()
		})
	}
}

func TestEncodeTextReplacesWhatGBKLacks(t *testing.T) {
	got, ok := decodeText(string(encodeText("券😀码", "GBK")), "GBK")
	if !ok || got != "券?码" {
		t.Fatalf("got %q", got)
	}
}

func TestRefusesNonLoopbackAddr(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0"} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "not on loopback") {
					t.Errorf("WithAddr(%q): %v, want a panic about loopback", addr, r)
				}
			}()
			NewUnstartedServer(WithAddr(addr)).Close()
		}()
	}
}
