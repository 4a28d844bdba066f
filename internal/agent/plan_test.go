package agent

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/config"
	"posagent/internal/coupon"
	"posagent/internal/event"
)

// By the time "decoded" is reported, the customer's coupons are durable
// work: the local rules' issues and the question to the merchant's
// endpoint are in the queue, committed together, even while the merchant
// is slow to answer (it used to be asked first, for up to 2 s, with nothing
// on disk meanwhile).
func TestCouponPlanDurableBeforeDecoded(t *testing.T) {
	release := make(chan struct{})
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		io.WriteString(w, `{"coupons":[{"tpl_id":"tplMerchant"}]}`)
	}))
	defer merchant.Close()
	defer close(release)
	srv := newServer(t)
	scan := make(feed)
	a := newAgent(t, srv, t.TempDir(), scan, func(c *config.Config) { c.MerchantCouponURL = merchant.URL })
	w := start(t, a)
	srv.SetFault(alipay.MethodPassInstanceAdd, alipaytest.Fault{Drop: true})
	scan <- srv.IssueCode(student.UserID)
	d := w.until("decoded", isType(event.TypeDecoded)).(event.Decoded)
	pending, err := a.Queue.Pending()
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, j := range pending {
		kinds[j.Kind]++
	}
	if kinds[coupon.JobKind] != 2 || kinds[coupon.MerchantJobKind] != 1 {
		t.Errorf("at decoded %s the queue holds %v, want 2 coupons and 1 merchant question", d.SenceNo, kinds)
	}
}
