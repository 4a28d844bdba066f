package decode

import (
	"context"
	"strings"
	"testing"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
)

// A request the client refuses before sending names the field as the client
// does ("dynamic_id", not "biz_content.dynamic_id"): a scan too long for a
// payment code reads as such, other limits as a configuration problem.
func TestActionForRefusedRequest(t *testing.T) {
	s := alipaytest.NewServer()
	defer s.Close()
	c := s.Client()
	for _, tc := range []struct {
		name string
		req  alipay.TwostageRequest
		want string
	}{
		{"code too long", alipay.TwostageRequest{DynamicID: strings.Repeat("2", 33), SenceNo: "T1-S", PayPID: "2088702093900999"},
			"The scanned code is too long for a payment code; nothing was sent."},
		{"sence_no too long", alipay.TwostageRequest{DynamicID: "286861260475412123", SenceNo: strings.Repeat("s", 129), PayPID: "2088702093900999"},
			"The request breaks a limit (sence_no); nothing was sent."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.TwostageCommonUse(context.Background(), tc.req)
			if err == nil {
				t.Fatal("the client sent a request over the limits")
			}
			if a := ActionFor(err); a.Message != tc.want {
				t.Errorf("ActionFor(%v).Message = %q, want %q", err, a.Message, tc.want)
			}
		})
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests reached the gateway", n)
	}
}
