package coupon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/decode"
	"posagent/internal/event"
	"posagent/internal/event/eventtest"
)

var (
	t0      = time.Date(2026, 11, 22, 17, 30, 0, 0, time.UTC) // already the 23rd in Beijing
	student = decode.Identity{SenceNo: "till3-20261123-ab12000001", UserID: "2088123412341234", SchoolStdCode: "4136013432", CampusNo: "2019021208", At: t0}
	plain   = decode.Identity{SenceNo: "till3-20261123-ab12000002", UserID: "2088000000005678", At: t0}
)

// specs reads rules written as the configuration file's "coupons".
func specs(t *testing.T, js string) []Spec {
	t.Helper()
	var file []struct {
		Match struct {
			SchoolStdCode string `json:"school_std_code"`
			AnyUser       bool   `json:"any_user"`
		} `json:"match"`
		TplID     string          `json:"tpl_id"`
		TplParams json.RawMessage `json:"tpl_params"`
	}
	if err := json.Unmarshal([]byte(js), &file); err != nil {
		t.Fatal(err)
	}
	ss := make([]Spec, len(file))
	for i, r := range file {
		ss[i] = Spec{SchoolStdCode: r.Match.SchoolStdCode, AnyUser: r.Match.AnyUser, TplID: r.TplID, TplParams: r.TplParams}
	}
	return ss
}

func rules(t *testing.T, js string) Rules {
	t.Helper()
	rs, err := NewRules(specs(t, js))
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

const campusRules = `[
 {"match": {"school_std_code": "4136013432"}, "tpl_id": "tplCampus",
  "tpl_params": {"title": "校园券", "campus": "{campus_no}", "school": "{school_std_code}", "day": "{date}", "who": "{user_id}", "n": 3, "serialNumber": "$serial$"}},
 {"match": {"school_std_code": "9999999999"}, "tpl_id": "tplOther"},
 {"match": {"any_user": true}, "tpl_id": "tplAny", "tpl_params": {"ref": "{sence_no}/{serial}"}}
]`

func TestMatch(t *testing.T) {
	rs := rules(t, campusRules)
	tests := []struct {
		name string
		id   decode.Identity
		want []string
	}{
		{"student", student, []string{"tplCampus", "tplAny"}},
		{"no campus info", plain, []string{"tplAny"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, tp := range rs.Match(tt.id) {
				got = append(got, tp.TplID)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFill(t *testing.T) {
	rs := rules(t, campusRules)
	serial := Serial(student.SenceNo, "tplCampus")
	got := Fill(rs[0].Template, student, serial)
	want := map[string]string{
		"title": "校园券", "campus": "2019021208", "school": "4136013432", "day": "2026-11-23",
		"who": "2088123412341234", "n": "3", "serialNumber": serial,
	}
	if len(got) != len(want) {
		t.Errorf("Fill = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	anyParams := Fill(rs[2].Template, plain, "42")
	if anyParams["ref"] != plain.SenceNo+"/42" || anyParams[SerialKey] != "42" {
		t.Errorf("any-user params %v", anyParams)
	}
}

func TestNewRulesNamesBadKey(t *testing.T) {
	_, err := NewRules(specs(t, `[{"match":{"any_user":true},"tpl_id":"a"},{"match":{"any_user":true},"tpl_id":"b","tpl_params":{"x":"{student_name}"}}]`))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Key != "coupons[1].tpl_params.x" || !strings.Contains(fe.Msg, "{student_name}") {
		t.Fatalf("NewRules = %v, want an error naming coupons[1].tpl_params.x", err)
	}
}

func TestSerial(t *testing.T) {
	a := Serial("till3-20261123-ab12000001", "tplA")
	if a != Serial("till3-20261123-ab12000001", "tplA") || len(a) != 20 {
		t.Errorf("Serial %q: want 20 digits, stable", a)
	}
	for _, other := range []string{Serial("till3-20261123-ab12000002", "tplA"), Serial("till3-20261123-ab12000001", "tplB")} {
		if other == a {
			t.Errorf("two coupons share serial %s", a)
		}
	}
}

type fakeIssuer struct {
	mu     sync.Mutex
	errs   []error
	reqs   []alipay.PassInstanceAddRequest
	passes map[string]string // serial -> pass id, idempotent like the gateway
}

func (f *fakeIssuer) PassInstanceAdd(ctx context.Context, req alipay.PassInstanceAddRequest) (*alipay.PassInstanceAddResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	if f.passes == nil {
		f.passes = map[string]string{}
	}
	serial := req.TplParams[SerialKey]
	if _, ok := f.passes[serial]; !ok {
		f.passes[serial] = "pass" + serial[:6]
	}
	return &alipay.PassInstanceAddResponse{Success: true, Result: alipay.PassResult{SerialNumber: serial, PassID: f.passes[serial], Operate: "ADD", ErrorCode: "SUCCESS"}}, nil
}

type queued struct {
	kind, key string
	subj      event.Subject
	payload   []byte
	deadline  time.Time
}

// fakeQueue holds one job per key, as the queue does.
type fakeQueue struct {
	jobs    []queued
	batches int // DeferAll calls: commits
	err     error
}

func (q *fakeQueue) DeferAll(ctx context.Context, ws []Work) error {
	if q.err != nil {
		return q.err
	}
	q.batches++
next:
	for _, w := range ws {
		for _, j := range q.jobs {
			if j.key == w.Key {
				continue next
			}
		}
		q.jobs = append(q.jobs, queued{w.Kind, w.Key, w.Subject, w.Payload, w.Deadline})
	}
	return nil
}

type harness struct {
	cs     *Coupons
	issuer *fakeIssuer
	events *eventtest.Recorder
	queue  *fakeQueue
}

func newHarness(t *testing.T, rs Rules, m *Merchant) *harness {
	h := &harness{issuer: &fakeIssuer{}, events: &eventtest.Recorder{}, queue: &fakeQueue{}}
	cs, err := New(Config{Issuer: h.issuer, Rules: rs, Merchant: m, Events: h.events, Later: h.queue, Retryable: alipay.Retryable,
		PayPID: "2088702093900999", Now: func() time.Time { return t0 }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h.cs = cs
	return h
}

// drain runs every queued job once, as the queue would, and returns the
// errors of those that failed.
func (h *harness) drain(t *testing.T) []error {
	var errs []error
	for i := 0; i < len(h.queue.jobs); i++ { // AskMerchant adds jobs
		j := h.queue.jobs[i]
		run := h.cs.Issue
		switch j.kind {
		case JobKind:
		case MerchantJobKind:
			run = h.cs.AskMerchant
		default:
			t.Fatalf("job kind %q", j.kind)
		}
		if err := run(context.Background(), j.payload); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func TestPlanAndIssue(t *testing.T) {
	h := newHarness(t, rules(t, campusRules), nil)
	n, err := h.cs.Plan(context.Background(), student)
	if err != nil || n != 2 {
		t.Fatalf("Plan = %d, %v; want 2 coupons", n, err)
	}
	if again, _ := h.cs.Plan(context.Background(), student); again != 2 || len(h.queue.jobs) != 2 {
		t.Fatalf("planning again queued %d jobs in all, want still 2", len(h.queue.jobs))
	}
	for _, j := range h.queue.jobs {
		if !j.deadline.Equal(t0.Add(DefaultDeadline)) {
			t.Errorf("job deadline %v, want %v", j.deadline, t0.Add(DefaultDeadline))
		}
		if j.subj.SenceNo != student.SenceNo || j.subj.TplID == "" || j.subj.SerialNumber != Serial(student.SenceNo, j.subj.TplID) {
			t.Errorf("job subject %+v, want the customer's sence_no and the coupon's tpl_id and serial", j.subj)
		}
	}
	if errs := h.drain(t); errs != nil {
		t.Fatal(errs)
	}
	if len(h.issuer.reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(h.issuer.reqs))
	}
	req := h.issuer.reqs[0]
	if req.TplID != "tplCampus" || req.RecognitionType != "1" || req.RecognitionInfo.PartnerID != "2088702093900999" ||
		req.RecognitionInfo.OutTradeNo != student.SenceNo || req.TplParams["campus"] != "2019021208" ||
		req.TplParams[SerialKey] != Serial(student.SenceNo, "tplCampus") {
		t.Errorf("request %+v", req)
	}
	var issued []string
	for _, e := range h.events.All() {
		ci, ok := e.(event.CouponIssued)
		if !ok {
			t.Fatalf("event %T %+v, want coupon_issued", e, e)
		}
		if ci.PassID == "" || ci.SerialNumber != Serial(student.SenceNo, ci.TplID) || ci.SenceNo != student.SenceNo {
			t.Errorf("event %+v", ci)
		}
		issued = append(issued, ci.TplID)
	}
	if strings.Join(issued, ",") != "tplCampus,tplAny" {
		t.Errorf("issued %v", issued)
	}
}

func TestIssueRetriesSameSerial(t *testing.T) {
	h := newHarness(t, rules(t, campusRules), nil)
	h.issuer.errs = []error{
		&alipay.Error{Method: alipay.MethodPassInstanceAdd, Err: fmt.Errorf("%w: connection refused", alipay.ErrUnreachable)},
		&alipay.Error{Method: alipay.MethodPassInstanceAdd, HTTPStatus: 200, Code: "40004", SubCode: alipay.SubPassSystemError},
	}
	if _, err := h.cs.Plan(context.Background(), plain); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		errs := h.drain(t)
		var fl *Failure
		if len(errs) != 1 || errors.As(errs[0], &fl) {
			t.Fatalf("attempt %d during the outage: %v, want one retryable error", i+1, errs)
		}
	}
	if len(h.events.All()) != 0 {
		t.Fatalf("events during the outage: %+v", h.events.All())
	}
	if errs := h.drain(t); errs != nil {
		t.Fatal(errs)
	}
	serial := Serial(plain.SenceNo, "tplAny")
	for i, r := range h.issuer.reqs {
		if r.TplParams[SerialKey] != serial {
			t.Errorf("request %d serial %s, want %s", i, r.TplParams[SerialKey], serial)
		}
	}
	if len(h.issuer.passes) != 1 {
		t.Errorf("%d passes issued, want 1", len(h.issuer.passes))
	}
}

func TestIssueFinalFailure(t *testing.T) {
	h := newHarness(t, rules(t, campusRules), nil)
	h.issuer.errs = []error{&alipay.Error{Method: alipay.MethodPassInstanceAdd, HTTPStatus: 200, Code: "10000", SubCode: alipay.SubPassUserIDNotSupported, SubMsg: "黑名单"}}
	h.cs.Plan(context.Background(), plain)
	errs := h.drain(t)
	var fl *Failure
	if len(errs) != 1 || !errors.As(errs[0], &fl) {
		t.Fatalf("Issue = %v, want a final *Failure", errs)
	}
	cf, ok := h.events.All()[0].(event.CouponFailed)
	if !ok || cf.TplID != "tplAny" || !strings.Contains(cf.Reason, alipay.SubPassUserIDNotSupported) || cf.SerialNumber == "" || cf.SenceNo != plain.SenceNo {
		t.Errorf("event %+v, want coupon_failed naming the sub code", h.events.All()[0])
	}
}

func TestPlanUnqueueable(t *testing.T) {
	h := newHarness(t, rules(t, campusRules), nil)
	h.queue.err = errors.New("queue full")
	if _, err := h.cs.Plan(context.Background(), plain); err == nil || !strings.Contains(err.Error(), "queue full") {
		t.Fatalf("Plan = %v", err)
	}
	if cf, ok := h.events.All()[0].(event.CouponFailed); !ok || !strings.Contains(cf.Reason, "queue full") || cf.SenceNo != plain.SenceNo {
		t.Errorf("event %+v", h.events.All()[0])
	}
}

func TestMerchantEndpoint(t *testing.T) {
	var got merchantRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		json.NewDecoder(r.Body).Decode(&got)
		io.WriteString(w, `{"coupons":[{"tpl_id":"tplMerchant","tpl_params":{"campus":"{campus_no}"}},{"tpl_id":"tplAny"}]}`)
	}))
	defer srv.Close()
	h := newHarness(t, rules(t, campusRules), &Merchant{URL: srv.URL})
	// The local rules' coupons and the question to the merchant are
	// queued in one commit; the merchant is asked when the job runs.
	if n, err := h.cs.Plan(context.Background(), student); err != nil || n != 2 || h.queue.batches != 1 || len(h.queue.jobs) != 3 {
		t.Fatalf("Plan = %d, %v: %d commits, %d jobs; want 2 coupons and the question in 1 commit", n, err, h.queue.batches, len(h.queue.jobs))
	}
	if got != (merchantRequest{}) {
		t.Fatal("the merchant was asked before its job ran")
	}
	if errs := h.drain(t); errs != nil {
		t.Fatal(errs)
	}
	var ids []string
	for _, j := range h.queue.jobs {
		if j.kind == JobKind {
			var jb job
			json.Unmarshal(j.payload, &jb)
			ids = append(ids, jb.TplID)
			if jb.TplID == "tplMerchant" && jb.Params["campus"] != student.CampusNo {
				t.Errorf("merchant params %v", jb.Params)
			}
		}
	}
	if strings.Join(ids, ",") != "tplCampus,tplAny,tplMerchant" {
		t.Errorf("coupons %v, want the rules' then the merchant's new one", ids)
	}
	if got != (merchantRequest{UserID: student.UserID, SchoolStdCode: student.SchoolStdCode, CampusNo: student.CampusNo}) {
		t.Errorf("merchant got %+v", got)
	}
}

func TestMerchantDownUsesLocalRules(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>") }))
	defer broken.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	for name, m := range map[string]*Merchant{
		"slow":     {URL: slow.URL, Client: &http.Client{Timeout: 50 * time.Millisecond}},
		"not json": {URL: broken.URL},
		"refused":  {URL: closedURL},
		"404":      {URL: closedURL, Client: &http.Client{Transport: notFound{}}},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, rules(t, campusRules), m)
			if n, err := h.cs.Plan(context.Background(), plain); err != nil || n != 1 {
				t.Errorf("Plan = %d, %v; want the one local coupon", n, err)
			}
			// The question fails, to be asked again; the local coupon is
			// issued meanwhile.
			if errs := h.drain(t); len(errs) != 1 || len(h.issuer.reqs) != 1 {
				t.Errorf("drain: %v, %d coupons issued; want the merchant's failure and the local coupon", errs, len(h.issuer.reqs))
			}
		})
	}
}

type notFound struct{}

func (notFound) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	http.NotFound(rec, r)
	return rec.Result(), nil
}

func TestSetRules(t *testing.T) {
	h := newHarness(t, rules(t, campusRules), nil)
	h.cs.SetRules(rules(t, `[{"match":{"any_user":true},"tpl_id":"tplNew"}]`), nil)
	ts := h.cs.Templates(student)
	if len(ts) != 1 || ts[0].TplID != "tplNew" {
		t.Errorf("templates after SetRules: %+v", ts)
	}
}
