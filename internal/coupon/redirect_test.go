package coupon

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"posagent/internal/decode"
	"posagent/internal/endpoint"
)

// The merchant lookup never follows a redirect (it would re-post the
// customer's user id wherever it points): the error names the Location.
// An http:// lookup away from this machine is refused before it is sent.
func TestMerchantFollowsNoRedirect(t *testing.T) {
	var stolen atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		stolen.Add(1)
		io.WriteString(w, `{"coupons": []}`)
	}))
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	id := decode.Identity{SenceNo: "s-1", UserID: "2088000000000001"}
	_, err := (&Merchant{URL: redirector.URL}).Lookup(context.Background(), id)
	if !errors.Is(err, endpoint.ErrRedirect) || !strings.Contains(err.Error(), target.URL+"/elsewhere") {
		t.Errorf("Lookup through a redirect: %v, want ErrRedirect naming %s/elsewhere", err, target.URL)
	}
	if stolen.Load() > 0 {
		t.Error("the redirect target got the request")
	}
	if _, err := (&Merchant{URL: "http://shop.example/coupons"}).Lookup(context.Background(), id); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("Lookup over http:// to another machine: %v, want an error asking for https", err)
	}
}
