package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/dbfile"
	"posagent/internal/event"
	"posagent/internal/event/eventtest"
	"posagent/internal/httpjson"
	"posagent/internal/queue"
)

// fakeScans records codes entered.
type fakeScans struct {
	mu    sync.Mutex
	codes []string
}

func (f *fakeScans) Enter(ctx context.Context, code string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.codes = append(f.codes, code)
	return "till1-20261122-000001", nil
}

// validCode stands in for scanner.ValidPaymentCode.
func validCode(s string) error {
	if !regexp.MustCompile(`^(2[5-9]|30)\d{14,22}$`).MatchString(s) {
		return errors.New("not an Alipay payment code: 4 digits, want 16 to 24")
	}
	return nil
}

func TestManualScan(t *testing.T) {
	fs := &fakeScans{}
	ts := newTestServer(t, func(o *Options) { o.Scans = fs; o.ValidCode = validCode })
	const code = "286861260475412123"
	st, _, body := ts.do(t, "POST", "/v1/scans", `{"code":"`+code+`"}`)
	var acc ScanAccepted
	if st != 202 || json.Unmarshal([]byte(body), &acc) != nil || acc.SenceNo != "till1-20261122-000001" || acc.Source != "api" || acc.CodeMasked != "28************2123" {
		t.Fatalf("POST /v1/scans: %d %s", st, body)
	}
	if strings.Contains(body, code) {
		t.Errorf("the answer quotes the full code: %s", body)
	}
	if len(fs.codes) != 1 || fs.codes[0] != code {
		t.Errorf("entered %v", fs.codes)
	}
}

// Bad input is refused with 400 naming what is wrong, and nothing reaches
// the flow.
func TestBadInput(t *testing.T) {
	fs := &fakeScans{}
	ts := newTestServer(t, func(o *Options) { o.Scans = fs; o.ValidCode = validCode })
	for _, tc := range []struct {
		name, path, body string
		status           int
		says             string
		ctype            []string // the Content-Type header, if not application/json ("" drops it)
	}{
		{"malformed code", "/v1/scans", `{"code":"12ab"}`, 400, "not an Alipay payment code", nil},
		{"malformed JSON", "/v1/scans", `{"code":`, 400, "body", nil},
		{"not JSON", "/v1/scans", `code=28`, 400, "not JSON", nil},
		{"wrong type", "/v1/scans", `{"code":286861260475412123}`, 400, "code: want a JSON string, got JSON number", nil},
		{"unknown field", "/v1/scans", `{"code":"286861260475412123","amount":"1"}`, 400, `unknown field \"amount\"`, nil},
		{"two values", "/v1/scans", `{"code":"286861260475412123"}{}`, 400, "more than one", nil},
		{"empty", "/v1/scans", ``, 400, "empty", nil},
		{"oversized", "/v1/scans", `{"code":"` + strings.Repeat("2", 70<<10) + `"}`, 413, "over", nil},
		{"agreement missing field", "/v1/agreements/confirm", `{"agreement_no":"A1","apply_token":"T"}`, 400, "auth_confirm_no", nil},
		{"agreement unknown field", "/v1/agreements/confirm", `{"agreement_no":"A1","sms":"1"}`, 400, `unknown field \"sms\"`, nil},
		{"order wrong type", "/v1/app-pay/orders", `{"total_amount":12.5}`, 400, "total_amount", nil},
		// A browser's cross-site "simple" POST (no preflight) carries
		// text/plain or a form: refused like a missing type.
		{"no Content-Type", "/v1/scans", `{"code":"286861260475412123"}`, 415, "Content-Type: application/json", []string{"Content-Type", ""}},
		{"text/plain", "/v1/scans", `{"code":"286861260475412123"}`, 415, "text/plain", []string{"Content-Type", "text/plain"}},
		{"form", "/v1/agreements/confirm", `a=b`, 415, "application/x-www-form-urlencoded", []string{"Content-Type", "application/x-www-form-urlencoded"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _, body := ts.do(t, "POST", tc.path, tc.body, tc.ctype...)
			if st != tc.status || !strings.Contains(body, tc.says) {
				t.Fatalf("%d %s, want %d saying %q", st, body, tc.status, tc.says)
			}
			if c := errorCode(body); c != "bad_request" && c != "bad_code" {
				t.Errorf("error code %q", c)
			}
		})
	}
	if len(fs.codes) != 0 {
		t.Errorf("bad input reached the flow: %v", fs.codes)
	}
}

type fakeGateway struct {
	err    error
	reqs   []alipay.AgreementAuthConfirmRequest
	orders []alipay.TradeAppPayRequest
}

func (g *fakeGateway) AgreementAuthConfirm(ctx context.Context, req alipay.AgreementAuthConfirmRequest) error {
	g.reqs = append(g.reqs, req)
	return g.err
}

func (g *fakeGateway) AppPayOrder(req alipay.TradeAppPayRequest) (string, error) {
	g.orders = append(g.orders, req)
	if req.TotalAmount == "abc" {
		return "", errors.New("total_amount: \"abc\" is not an amount")
	}
	return "app_id=1&biz_content=" + req.OutTradeNo, nil
}

func TestAgreementAndOrder(t *testing.T) {
	g := &fakeGateway{}
	ts := newTestServer(t, func(o *Options) { o.Agreements = g; o.Orders = g })
	body := `{"agreement_no":"A1","apply_token":"T1","auth_confirm_no":"123456"}`
	if st, _, b := ts.do(t, "POST", "/v1/agreements/confirm", body); st != 200 || !strings.Contains(b, `"confirmed":true`) {
		t.Errorf("confirm: %d %s", st, b)
	}
	g.err = &alipay.Error{Method: alipay.MethodAgreementAuthConfirm, HTTPStatus: 200, Code: "40004", SubCode: alipay.SubValidateCodeExpired, SubMsg: "expired for 2088000000000001"}
	st, _, b := ts.do(t, "POST", "/v1/agreements/confirm", body)
	if st != 422 || errorCode(b) != alipay.SubValidateCodeExpired || strings.Contains(b, "2088000000000001") {
		t.Errorf("refused confirm: %d %s", st, b)
	}
	g.err = &alipay.Error{Method: alipay.MethodAgreementAuthConfirm, Err: alipay.ErrUnreachable}
	if st, _, b := ts.do(t, "POST", "/v1/agreements/confirm", body); st != 502 || errorCode(b) != "gateway_unreachable" {
		t.Errorf("unreachable: %d %s", st, b)
	}
	if len(g.reqs) != 3 || g.reqs[0].AuthConfirmNo != "123456" {
		t.Errorf("requests %+v", g.reqs)
	}
	st, _, b = ts.do(t, "POST", "/v1/app-pay/orders", `{"total_amount":"12.50","subject":"lunch","out_trade_no":"O1"}`)
	if st != 201 || !strings.Contains(b, `"order_string":"app_id=1&biz_content=O1"`) {
		t.Errorf("order: %d %s", st, b)
	}
	if st, _, b := ts.do(t, "POST", "/v1/app-pay/orders", `{"total_amount":"abc","subject":"lunch","out_trade_no":"O1"}`); st != 400 || !strings.Contains(b, "total_amount") {
		t.Errorf("bad order: %d %s", st, b)
	}
}

// An app-pay order is held to the same out_trade_no and total_amount rules
// as a payment, in the same words, before anything is signed; also when
// this posagent could not sign at all.
func TestAppPayOrderRules(t *testing.T) {
	g := &fakeGateway{}
	ts := newTestServer(t, func(o *Options) { o.Orders = g })
	unsigned := newTestServer(t, nil)
	payWords := func(otn string) string {
		err := alipay.TradePayRequest{OutTradeNo: otn, AuthCode: "0", Subject: "x", TotalAmount: "1.00"}.Validate()
		if err == nil {
			t.Fatalf("trade.pay takes out_trade_no %q", otn)
		}
		return err.Error()
	}
	for _, tc := range []struct{ name, body, says string }{
		{"hyphen", `{"total_amount":"12.50","subject":"lunch","out_trade_no":"APP-0001"}`, payWords("APP-0001")},
		{"slash", `{"total_amount":"12.50","subject":"lunch","out_trade_no":"A/B"}`, payWords("A/B")},
		{"han", `{"total_amount":"12.50","subject":"lunch","out_trade_no":"销售单1"}`, payWords("销售单1")},
		{"65 characters", `{"total_amount":"12.50","subject":"lunch","out_trade_no":"` + strings.Repeat("a", 65) + `"}`, payWords(strings.Repeat("a", 65))},
		{"12-character amount", `{"total_amount":"100000000.00","subject":"lunch","out_trade_no":"APP_0001"}`, "total_amount: 12 characters, at most 11"},
		{"no amount", `{"subject":"lunch","out_trade_no":"APP_0001"}`, "total_amount: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, srv := range []*testServer{ts, unsigned} {
				st, _, body := srv.do(t, "POST", "/v1/app-pay/orders", tc.body)
				var e httpjson.ErrorBody
				if st != 400 || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != "bad_request" || e.Error.Message != tc.says {
					t.Errorf("%d %s, want 400 saying %q", st, body, tc.says)
				}
			}
		})
	}
	if len(g.orders) != 0 {
		t.Errorf("refused orders reached the signer: %+v", g.orders)
	}
	if st, _, body := ts.do(t, "POST", "/v1/app-pay/orders", `{"total_amount":"100000000","subject":"lunch","out_trade_no":"APP_0001"}`); st != 201 {
		t.Errorf("the maximum as trade.pay writes it: %d %s", st, body)
	}
}

// killAll runs q until its one pending job died with reason, as a
// gateway's final refusal would end it.
func killAll(t *testing.T, q *queue.Queue, dead *eventtest.Recorder, reason string) {
	t.Helper()
	q.Handle("coupon", func(context.Context, queue.Job) error { return queue.Permanent(errors.New(reason)) })
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- q.Run(ctx) }()
	defer func() { cancel(); <-ran }()
	dead.Wait(t, "the job dead", func(e event.Event) bool { _, ok := e.(event.Dead); return ok })
}

// newQueue is a real queue in a bbolt file.
func newQueue(t *testing.T, events queue.Publisher) *queue.Queue {
	t.Helper()
	db, err := dbfile.Open(filepath.Join(t.TempDir(), "posagent.db"), dbfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	q, err := queue.New(db, queue.Options{Events: events})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestQueueRetryDrop(t *testing.T) {
	rec := &eventtest.Recorder{}
	q := newQueue(t, rec)
	ctx := context.Background()
	subj := event.Subject{SenceNo: "S1", TplID: "tplA", SerialNumber: "s-1"}
	dead, err := q.Enqueue(ctx, queue.Job{Kind: "coupon", Key: "s-1", Subject: subj, Payload: []byte(`{"secret":"286861260475412123"}`)})
	if err != nil {
		t.Fatal(err)
	}
	killAll(t, q, rec, "refused for 2088000000000001")
	pending, err := q.Enqueue(ctx, queue.Job{Kind: "coupon", Key: "s-2"})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, func(o *Options) { o.Queue = q })

	st, _, body := ts.do(t, "GET", "/v1/queue", "")
	var list struct{ Pending, Dead []Job }
	if st != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Pending) != 1 || len(list.Dead) != 1 {
		t.Fatalf("GET /v1/queue: %d %s", st, body)
	}
	if d := list.Dead[0]; d.ID != dead.ID || d.SenceNo != "S1" || d.TplID != "tplA" || d.SerialNumber != "s-1" || d.State != "dead" {
		t.Errorf("dead job %+v", d)
	}
	if strings.Contains(body, "286861260475412123") || strings.Contains(body, "2088000000000001") || strings.Contains(body, "secret") {
		t.Errorf("the queue listing leaks a payload or an id: %s", body)
	}

	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"POST", "/v1/queue/" + pending.ID + "/retry", 409, "conflict"},
		{"POST", "/v1/queue/999/retry", 404, "not_found"},
		{"POST", "/v1/queue/x/retry", 400, "bad_request"},
		{"DELETE", "/v1/queue/0", 400, "bad_request"},
		{"POST", "/v1/queue/" + dead.ID + "/retry", 200, ""},
		{"DELETE", "/v1/queue/" + pending.ID, 200, ""},
		{"DELETE", "/v1/queue/" + pending.ID, 404, "not_found"},
	} {
		st, _, body := ts.do(t, tc.method, tc.path, "")
		if st != tc.status || (tc.code != "" && errorCode(body) != tc.code) {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, st, body, tc.status, tc.code)
		}
	}
	p, d, _ := q.Stats()
	if p != 1 || d != 0 {
		t.Errorf("after retry and drop: %d pending, %d dead; want the retried job pending only", p, d)
	}
}

func TestStatusAndMetrics(t *testing.T) {
	q := newQueue(t, nil)
	if _, err := q.Enqueue(context.Background(), queue.Job{Kind: "coupon", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	pay := http.NewServeMux()
	pay.HandleFunc("GET /v1/payments/{out_trade_no}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) })
	ts := newTestServer(t, func(o *Options) { o.Queue = q; o.Scans = &fakeScans{}; o.ValidCode = validCode; o.Payments = pay })
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, state := range []string{event.PaymentSending, event.PaymentPaid, event.PaymentPaid, event.PaymentUnknown, event.PaymentRefunded, event.PaymentCancelled, event.PaymentFailed} {
		ts.bus.Publish(event.Payment{SenceNo: "S1", OutTradeNo: "POS-77", State: state, TotalAmount: "1.00"})
	}
	ts.bus.Publish(event.Gateway{Stamp: event.Stamp{Time: at}, State: event.GatewayDown})
	ts.bus.Publish(event.Scanner{State: event.ScannerConnected, Device: "sim"})
	ts.bus.Publish(event.Scan{SenceNo: "S1", CodeMasked: "28************2123", Source: "sim"})
	ts.bus.Publish(event.Decoded{Stamp: event.Stamp{Time: at}, SenceNo: "S1", UserID: "2088000000000001", UserIDMasked: "2088********0001"})
	ts.bus.Publish(event.DecodeFailed{SenceNo: "S2", SubCode: "CODE_EXPIRED"})
	ts.bus.Publish(event.CouponIssued{SenceNo: "S1", TplID: "tplA"})
	ts.bus.Publish(event.Gateway{Stamp: event.Stamp{Time: at.Add(time.Minute)}, State: event.GatewayUp})
	waitSeq(t, ts, 14)
	ts.do(t, "POST", "/v1/scans", `{"code":"12"}`)
	ts.do(t, "GET", "/v1/payments/POS-77", "")
	ts.do(t, "GET", "/v1/payments/POS-78", "")

	st, _, body := ts.do(t, "GET", "/v1/status", "")
	var s Status
	if st != 200 || json.Unmarshal([]byte(body), &s) != nil {
		t.Fatalf("status: %d %s", st, body)
	}
	if s.Version != "test" || s.RunID != "run1" || s.LastSeq != 14 || s.Gateway.State != "up" || s.Gateway.Since == nil ||
		!s.Gateway.Since.Equal(at.Add(time.Minute)) || s.Scanner.State != "connected" || s.Scanner.Device != "sim" ||
		s.Queue.Pending != 1 || s.Customer == nil || s.Customer.SenceNo != "S1" || s.Customer.UserIDMasked != "2088********0001" ||
		!s.Customer.DecodedAt.Equal(at) {
		t.Errorf("status %s", body)
	}
	if strings.Contains(body, "2088000000000001") {
		t.Errorf("status shows the full user_id: %s", body)
	}
	// Times as events write them: RFC 3339 with milliseconds.
	for _, want := range []string{`"since":"2026-11-22T10:01:00.000Z"`, `"decoded_at":"2026-11-22T10:00:00.000Z"`} {
		if !strings.Contains(body, want) {
			t.Errorf("status has no %s: %s", want, body)
		}
	}
	if _, _, list := ts.do(t, "GET", "/v1/queue", ""); !regexp.MustCompile(`"next_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)"`).MatchString(list) {
		t.Errorf("queue next_at not in milliseconds: %s", list)
	}

	st, h, body := ts.do(t, "GET", "/metrics", "")
	if st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics: %d %v", st, h)
	}
	for _, want := range []string{
		"posagent_scans_total 1\n",
		`posagent_decodes_total{result="decoded"} 1`,
		`posagent_decodes_total{result="CODE_EXPIRED"} 1`,
		`posagent_coupons_total{result="issued"} 1`,
		"posagent_gateway_up 1\n",
		`posagent_queue_jobs{state="pending"} 1`,
		"posagent_queue_oldest_age_seconds ",
		"posagent_sse_clients 0\n",
		`posagent_http_request_duration_seconds_bucket{method="POST",route="/v1/scans",le="+Inf"} 1`,
		`posagent_http_request_duration_seconds_count{method="GET",route="/v1/status"} 1`,
		`posagent_http_request_duration_seconds_count{method="GET",route="/v1/payments/{out_trade_no}"} 2`,
		`posagent_payments_total{state="paid"} 2`,
		`posagent_payments_total{state="failed"} 1`,
		`posagent_payments_total{state="cancelled"} 1`,
		`posagent_payments_total{state="refunded"} 1`,
		"# TYPE posagent_http_request_duration_seconds histogram",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, `state="sending"`) || strings.Contains(body, `state="unknown"`) {
		t.Errorf("payments counted before their final state:\n%s", body)
	}
	for _, leak := range []string{"2088000000000001", "S1", testToken, "28****", "POS-77"} {
		if strings.Contains(body, leak) {
			t.Errorf("metrics hold %q", leak)
		}
	}
	// Every line is a comment or "name{labels} value".
	line := regexp.MustCompile(`^(# (HELP|TYPE) .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+-]+)$`)
	for _, l := range strings.Split(strings.TrimSpace(body), "\n") {
		if !line.MatchString(l) {
			t.Errorf("not exposition format: %q", l)
		}
	}
}
