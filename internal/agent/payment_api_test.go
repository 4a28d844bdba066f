package agent

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"posagent/internal/alipay/alipaytest"
	"posagent/internal/api"
	"posagent/internal/event"
	"posagent/internal/payment"
)

// The POS charges a customer through the local API: the code entered (or
// scanned) is decoded, POST /v1/payments pays it with the decode's sence_no,
// the payment events and GET tell the outcome; the token is required, a
// repeat is the same payment, a second sale for the same code is refused.
func TestPaymentThroughAPI(t *testing.T) {
	srv := newServer(t)
	a := newAgent(t, srv, t.TempDir(), make(feed))
	w := start(t, a)
	c := newAPIClient(t, w.until("started", isType(event.TypeStarted)).(event.Started))

	resp, err := http.Post(c.url+"/v1/payments", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST /v1/payments without the token: %d", resp.StatusCode)
	}

	code := srv.IssueCode(plain.UserID)
	st, body := c.do("POST", "/v1/scans", `{"code":"`+code+`"}`)
	var acc api.ScanAccepted
	if st != 202 || json.Unmarshal(body, &acc) != nil {
		t.Fatalf("POST /v1/scans: %d %s", st, body)
	}
	w.until("decoded", isType(event.TypeDecoded))

	pay := `{"sence_no":"` + acc.SenceNo + `","out_trade_no":"pos_1","total_amount":"12.50","subject":"Lunch"}`
	st, body = c.do("POST", "/v1/payments", pay)
	var p payment.Payment
	if st != http.StatusAccepted || json.Unmarshal(body, &p) != nil || p.State != event.PaymentSending || p.SenceNo != acc.SenceNo {
		t.Fatalf("POST /v1/payments: %d %s", st, body)
	}
	paid := w.until("paid", func(e event.Event) bool {
		pe, ok := e.(event.Payment)
		return ok && pe.OutTradeNo == "pos_1" && pe.State == event.PaymentPaid
	}).(event.Payment)
	if paid.SenceNo != acc.SenceNo || paid.TradeNo == "" || paid.TotalAmount != "12.50" {
		t.Fatalf("paid event %+v", paid)
	}
	if st, body := c.do("GET", "/v1/payments/pos_1", ""); st != 200 || !strings.Contains(string(body), `"state":"paid"`) {
		t.Fatalf("GET: %d %s", st, body)
	} else if ms := regexp.MustCompile(`"(created|updated)":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)"`); len(ms.FindAll(body, -1)) != 2 {
		t.Errorf("created/updated not RFC 3339 with milliseconds: %s", body)
	}
	if st, body := c.do("POST", "/v1/payments", pay); st != 200 || !strings.Contains(string(body), `"state":"paid"`) {
		t.Fatalf("the same request again: %d %s", st, body)
	}
	other := strings.Replace(pay, "pos_1", "pos_2", 1)
	if st, body := c.do("POST", "/v1/payments", other); st != http.StatusConflict {
		t.Fatalf("a second sale for the code: %d %s", st, body)
	}
	if st, body := c.do("POST", "/v1/payments", strings.Replace(pay, "12.50", "abc", 1)); st != 400 || !strings.Contains(string(body), "total_amount") {
		t.Fatalf("amount abc: %d %s", st, body)
	}
	tr, _ := srv.TradeByOutTradeNo("pos_1")
	if tr.Charges != 1 || tr.SenceNo != acc.SenceNo {
		t.Fatalf("trade %+v: want one charge with DYNAMIC_TOKEN_OUT_BIZ_NO %s", tr, acc.SenceNo)
	}
}

// The agent is not idle (a headless demo does not stop) while a payment is
// open, even with the queue empty: here a buyer who never confirms.
func TestNotIdleWhilePaymentOpen(t *testing.T) {
	srv := newServer(t)
	srv.SetPayer(plain.UserID, alipaytest.Payer{Confirm: true, NeverConfirm: true, Balance: 1_000_000})
	a := newAgent(t, srv, t.TempDir(), make(feed))
	w := start(t, a)
	c := newAPIClient(t, w.until("started", isType(event.TypeStarted)).(event.Started))
	st, body := c.do("POST", "/v1/scans", `{"code":"`+srv.IssueCode(plain.UserID)+`"}`)
	var acc api.ScanAccepted
	if st != 202 || json.Unmarshal(body, &acc) != nil {
		t.Fatalf("POST /v1/scans: %d %s", st, body)
	}
	w.until("decoded", isType(event.TypeDecoded))
	if st, body := c.do("POST", "/v1/payments", `{"sence_no":"`+acc.SenceNo+`","out_trade_no":"open_1","total_amount":"1.00","subject":"x"}`); st != 202 {
		t.Fatalf("POST /v1/payments: %d %s", st, body)
	}
	w.until("waiting for the buyer", func(e event.Event) bool {
		pe, ok := e.(event.Payment)
		return ok && pe.State == event.PaymentWaitingBuyer
	})
	if a.Idle() {
		t.Fatal("Idle() with a payment waiting for its buyer")
	}
	if st, body := c.do("GET", "/v1/payments?sence_no="+acc.SenceNo, ""); st != 200 || !strings.Contains(string(body), `"open_1"`) {
		t.Fatalf("GET /v1/payments?sence_no=: %d %s", st, body)
	}
}
