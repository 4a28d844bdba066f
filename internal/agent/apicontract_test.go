package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"posagent/internal/api"
	"posagent/internal/event"
	"posagent/internal/scanner"
)

// decodedSale enters a code for a customer through the API and returns its
// sence_no once it is decoded: what a payment needs.
func decodedSale(t *testing.T, c *apiClient, w *watcher, code string) string {
	t.Helper()
	st, body := c.do("POST", "/v1/scans", `{"code":"`+code+`"}`)
	var acc api.ScanAccepted
	if st != 202 || json.Unmarshal(body, &acc) != nil {
		t.Fatalf("POST /v1/scans: %d %s", st, body)
	}
	w.until("decoded", func(e event.Event) bool {
		d, ok := e.(event.Decoded)
		return ok && d.SenceNo == acc.SenceNo
	})
	return acc.SenceNo
}

// A payment body whose keys are not exactly the documented ones, once each,
// or whose text is not UTF-8, is refused before anything is charged:
// encoding/json alone charged 900.00 for a body a reader takes for 1.00.
func TestPaymentBodyStrictEndToEnd(t *testing.T) {
	srv := newServer(t)
	a := newAgent(t, srv, t.TempDir(), make(feed))
	w := start(t, a)
	c := newAPIClient(t, w.until("started", isType(event.TypeStarted)).(event.Started))
	sn := decodedSale(t, c, w, srv.IssueCode(plain.UserID))

	for _, tc := range []struct {
		name, body, ctype string
		status            int
		says              string
	}{
		{"upper-case twin", `{"sence_no":"` + sn + `","out_trade_no":"dupkey_1","total_amount":"1.00","TOTAL_AMOUNT":"900.00","subject":"x"}`, "", 400, `unknown field \"TOTAL_AMOUNT\"`},
		{"key case", `{"Sence_No":"` + sn + `","out_trade_no":"dupkey_1","total_amount":"1.00","subject":"x"}`, "", 400, `unknown field \"Sence_No\"`},
		{"repeated key", `{"sence_no":"` + sn + `","out_trade_no":"dupkey_1","total_amount":"1.00","total_amount":"900.00","subject":"x"}`, "", 400, `field \"total_amount\" appears twice`},
		{"gbk bytes", "{\"sence_no\":\"" + sn + "\",\"out_trade_no\":\"dupkey_1\",\"total_amount\":\"1.00\",\"subject\":\"\xcf\xfa\xca\xdb\"}", "", 400, "not valid UTF-8"},
		{"gbk charset", `{"sence_no":"` + sn + `","out_trade_no":"dupkey_1","total_amount":"1.00","subject":"x"}`, "application/json; charset=gbk", 415, "only UTF-8 JSON is taken"},
		{"array", `[{"sence_no":"` + sn + `"}]`, "", 400, "body: want a JSON object, got JSON array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", c.url+"/v1/payments", strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+c.token)
			req.Header.Set("Content-Type", "application/json")
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			body.ReadFrom(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(body.String(), tc.says) {
				t.Fatalf("%d %s, want %d saying %s", resp.StatusCode, body.String(), tc.status, tc.says)
			}
			if strings.Contains(body.String(), "payment.") {
				t.Errorf("the answer names a Go type: %s", body.String())
			}
		})
	}
	if tr, ok := srv.TradeByOutTradeNo("dupkey_1"); ok {
		t.Fatalf("a refused body reached the gateway: %+v", tr)
	}
	if st, body := c.do("GET", "/v1/payments/dupkey_1", ""); st != 404 {
		t.Fatalf("a refused body left a payment: %d %s", st, body)
	}
	// The same sale, sent right, pays its 1.00.
	st, body := c.do("POST", "/v1/payments", `{"sence_no":"`+sn+`","out_trade_no":"dupkey_1","total_amount":"1.00","subject":"x"}`)
	if st != http.StatusAccepted {
		t.Fatalf("POST /v1/payments: %d %s", st, body)
	}
	paid := w.until("paid", func(e event.Event) bool {
		pe, ok := e.(event.Payment)
		return ok && pe.OutTradeNo == "dupkey_1" && pe.State == event.PaymentPaid
	}).(event.Payment)
	if paid.TotalAmount != "1.00" {
		t.Fatalf("paid %s, want 1.00", paid.TotalAmount)
	}
}

// endingFeed is a scanner that ends, without error, when its channel is
// closed: the decode loop stops taking codes while the API still serves.
type endingFeed chan string

func (f endingFeed) Run(ctx context.Context, out chan<- scanner.Event) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-f:
			if !ok {
				return nil
			}
		}
	}
}

// A code entered once the agent no longer takes codes is answered 503
// "stopping" with Retry-After, like every write during a stop, not 500.
func TestScanAfterLoopEndedIsStopping(t *testing.T) {
	srv := newServer(t)
	f := make(endingFeed)
	a := newAgent(t, srv, t.TempDir(), f)
	w := start(t, a)
	c := newAPIClient(t, w.until("started", isType(event.TypeStarted)).(event.Started))
	close(f)
	// Until the loop has seen the scanner end it may still take a code.
	deadline := time.Now().Add(patience)
	for {
		req, _ := http.NewRequest("POST", c.url+"/v1/scans", strings.NewReader(`{"code":"`+srv.IssueCode(plain.UserID)+`"}`))
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			if resp.StatusCode != 503 || !strings.Contains(body.String(), `"code":"stopping"`) || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("POST /v1/scans with the loop ended: %d Retry-After=%q %s; want 503 stopping with Retry-After",
					resp.StatusCode, resp.Header.Get("Retry-After"), body.String())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("codes still taken after the scanner ended")
		}
	}
	if _, err := a.Enter(context.Background(), srv.IssueCode(plain.UserID)); !errors.Is(err, api.ErrStopping) {
		t.Errorf("Enter with the loop ended: %v, want api.ErrStopping", err)
	}
}
