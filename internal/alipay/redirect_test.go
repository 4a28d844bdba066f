package alipay_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/endpoint"
)

// A gateway answering with a redirect never gets the signed request
// re-posted: the call fails as "gateway unreachable", naming the Location,
// and the target sees nothing.
func TestClientFollowsNoRedirect(t *testing.T) {
	srv := alipaytest.NewServer()
	defer srv.Close()
	var stolen atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		stolen.Add(1)
	}))
	defer target.Close()
	for _, status := range []int{307, 308, 302} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL+"/gateway.do", status)
		}))
		c, err := alipay.NewClient(alipay.Config{GatewayURL: redirector.URL + "/gateway.do", AppID: srv.AppID(), PrivateKey: srv.AppKey(), AlipayPublicKey: srv.AlipayPublicKey()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.TwostageCommonUse(context.Background(), alipay.TwostageRequest{DynamicID: srv.IssueCode("2088000000000001"), SenceNo: "s-1", PayPID: "2088702093900999"})
		redirector.Close()
		if !errors.Is(err, endpoint.ErrRedirect) || !alipay.Unreachable(err) || !strings.Contains(err.Error(), target.URL+"/gateway.do") {
			t.Errorf("HTTP %d: %v, want gateway unreachable: redirect refused, naming %s/gateway.do", status, err, target.URL)
		}
	}
	if n := stolen.Load(); n > 0 {
		t.Errorf("the redirect target got %d requests", n)
	}
}

// http:// is for this machine only: a gateway elsewhere needs https.
func TestClientGatewayNeedsHTTPS(t *testing.T) {
	srv := alipaytest.NewServer()
	defer srv.Close()
	for url, ok := range map[string]bool{
		"http://openapi.alipay.com/gateway.do":  false,
		"http://192.168.1.20:8080/gateway.do":   false,
		"https://openapi.alipay.com/gateway.do": true,
		srv.URL():                               true,
	} {
		_, err := alipay.NewClient(alipay.Config{GatewayURL: url, AppID: srv.AppID(), PrivateKey: srv.AppKey(), AlipayPublicKey: srv.AlipayPublicKey()})
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "https")) {
			t.Errorf("NewClient(%s): %v, want ok %v", url, err, ok)
		}
	}
}
