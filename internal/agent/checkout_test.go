package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/alipay/alipaytest"
	"posagent/internal/config"
	"posagent/internal/coupon"
	"posagent/internal/dbfile"
	"posagent/internal/decode"
	"posagent/internal/event"
	"posagent/internal/queue"
	"posagent/internal/redact"
	"posagent/internal/scanner"
)

// A simulated scanner reads six codes; the flow decodes each through the fake
// gateway and issues the coupons of those decoded.
func TestCheckoutWithSimulatedScanner(t *testing.T) {
	srv := newServer(t)
	codes := map[string]string{
		"student": srv.IssueCode(student.UserID),
		"plain":   srv.IssueCode(plain.UserID),
		"illegal": srv.IllegalCode(),
		"expired": srv.ExpiredCode(plain.UserID),
		"unauth":  srv.IssueCode(unauth.UserID),
		"unknown": "281111111111111111",
	}
	order := []string{"student", "plain", "illegal", "expired", "unauth", "unknown"}
	var script []scanner.Step
	for _, k := range order {
		script = append(script, scanner.Step{Code: codes[k], Delay: time.Millisecond})
	}
	a := newAgent(t, srv, t.TempDir(), scanner.NewSim(script, scanner.Options{}))
	w := start(t, a)

	var ends []event.Event
	for range order {
		ends = append(ends, w.until("the end of a decode", ended))
	}
	want := []struct {
		user, school, campus string // decoded
		sub, action          string // failed
	}{
		{user: "2088********0001", school: "4136013432", campus: "2019021208"},
		{user: "2088********0002"},
		{sub: alipay.SubIllegalCode, action: "Alipay payment code"},
		{sub: alipay.SubCodeExpired, action: "refresh"},
		{sub: alipay.SubUserUnAuth, action: "authorise"},
		{sub: alipay.SubIndexNotExist, action: "refresh"},
	}
	senceNos := map[string]string{}
	for i, e := range ends {
		switch e := e.(type) {
		case event.Decoded:
			if want[i].user == "" || e.UserIDMasked != want[i].user || e.SchoolStdCode != want[i].school || e.CampusNo != want[i].campus {
				t.Errorf("%s: %+v, want %+v", order[i], e, want[i])
			}
			senceNos[order[i]] = e.SenceNo
		case event.DecodeFailed:
			if e.SubCode != want[i].sub || !strings.Contains(e.Action, want[i].action) || e.Message == "" || e.SenceNo == "" {
				t.Errorf("%s: %+v, want sub code %s and an action about %q", order[i], e, want[i].sub, want[i].action)
			}
		}
	}
	// The student gets the campus coupon and the one for anybody; the
	// customer without campus info only the latter.
	w.reach("3 coupon_issued", 3, isType(event.TypeCouponIssued))
	passes := srv.Passes()
	if len(passes) != 3 {
		t.Fatalf("%d passes, want 3: %+v", len(passes), passes)
	}
	got := map[string]alipaytest.Pass{}
	for _, p := range passes {
		got[p.RecognitionInfo.OutTradeNo+" "+p.TplID] = p
		if p.RecognitionType != "1" || p.RecognitionInfo.PartnerID != payPID {
			t.Errorf("pass %+v: want recognition type 1 and partner %s", p, payPID)
		}
	}
	for _, k := range []string{senceNos["student"] + " tplCampus", senceNos["student"] + " tplAny", senceNos["plain"] + " tplAny"} {
		p, ok := got[k]
		if !ok {
			t.Errorf("no pass for %s", k)
			continue
		}
		if p.SerialNumber != coupon.Serial(p.RecognitionInfo.OutTradeNo, p.TplID) {
			t.Errorf("pass %s serial %s, want the derived one", k, p.SerialNumber)
		}
	}
	if p := got[senceNos["student"]+" tplCampus"]; p.TplParams["campus"] != "2019021208" {
		t.Errorf("campus coupon params %v", p.TplParams)
	}
	// Nothing the agent said holds a full code, nor a full user id outside
	// decoded.user_id (the integration channels' field).
	all := w.dump()
	for _, secret := range []string{codes["student"], codes["plain"], codes["unauth"]} {
		if strings.Contains(all, secret) {
			t.Errorf("events hold %s in clear", redact.Code(secret))
		}
	}
}

// Every business error of alipay.user.twostage.common.use, and the gateway's
// own failures, end as the cashier needs: final ones at once with an action,
// passing ones retried with the same sence_no until decoded.
func TestEveryDecodeError(t *testing.T) {
	srv := newServer(t)
	scan := make(feed)
	a := newAgent(t, srv, t.TempDir(), scan)
	w := start(t, a)
	tests := []struct {
		name   string
		fault  alipaytest.Fault
		sub    string // "" = decoded in the end
		action string
	}{
		{"INPUT_ILLEGAL", alipaytest.Fault{SubCode: alipay.SubInputIllegal}, alipay.SubInputIllegal, "configuration"},
		{"DECODE_FAILED", alipaytest.Fault{SubCode: alipay.SubDecodeFailed}, alipay.SubDecodeFailed, "support"},
		{"INDEX_NOT_EXIST", alipaytest.Fault{SubCode: alipay.SubIndexNotExist}, alipay.SubIndexNotExist, "refresh"},
		{"ILLEGAL_CODE", alipaytest.Fault{SubCode: alipay.SubIllegalCode}, alipay.SubIllegalCode, "Alipay payment code"},
		{"CODE_EXPIRED", alipaytest.Fault{SubCode: alipay.SubCodeExpired}, alipay.SubCodeExpired, "refresh"},
		{"USER_UN_AUTH", alipaytest.Fault{SubCode: alipay.SubUserUnAuth}, alipay.SubUserUnAuth, "authorise"},
		{"SENCENO_UN_MATCH", alipaytest.Fault{SubCode: alipay.SubSenceNoUnMatch}, alipay.SubSenceNoUnMatch, "refresh"},
		// A tampered answer is no verdict: retried like a lost one.
		{"bad signature then success", alipaytest.Fault{BadSign: true, Count: 1}, "", ""},
		{"SYSTEM_ERROR then success", alipaytest.Fault{SubCode: alipay.SubSystemError, Count: 2}, "", ""},
		{"20000 then success", alipaytest.Fault{Code20000: true, Count: 1}, "", ""},
		{"HTTP 502 then success", alipaytest.Fault{HTTPStatus: 502, Count: 1}, "", ""},
		{"dropped, answer lost, then success", alipaytest.Fault{Drop: true, Processed: true, Count: 1}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.t = t
			code := srv.IssueCode(student.UserID)
			srv.SetFault(alipay.MethodTwostageCommonUse, tt.fault)
			defer srv.ClearFaults()
			scan <- code
			e := w.until("the end of the decode", ended)
			var senceNo string
			switch e := e.(type) {
			case event.Decoded:
				if tt.action != "" || tt.sub != "" {
					t.Fatalf("decoded %+v, want a failure", e)
				}
				senceNo = e.SenceNo
			case event.DecodeFailed:
				if tt.action == "" || e.SubCode != tt.sub || !strings.Contains(e.Action, tt.action) {
					t.Fatalf("failed %+v, want sub code %q and an action about %q", e, tt.sub, tt.action)
				}
				senceNo = e.SenceNo
			}
			n := 0
			for _, r := range srv.Requests() {
				if biz := bizOf(r); r.Method == alipay.MethodTwostageCommonUse && biz["dynamic_id"] == code {
					n++
					if biz["sence_no"] != senceNo || biz["pay_pid"] != payPID {
						t.Errorf("request %d: sence_no %v pay_pid %v, want %s %s", n, biz["sence_no"], biz["pay_pid"], senceNo, payPID)
					}
				}
			}
			if want := 1 + tt.fault.Count; tt.sub == "" && tt.action == "" && n != want {
				t.Errorf("%d requests, want %d", n, want)
			}
		})
	}
}

// The same code decoded at two terminals: the second is told of the
// mismatch, as the gateway sees two sence_nos for one code.
func TestSenceNoMismatchAcrossTerminals(t *testing.T) {
	srv := newServer(t)
	scan1, scan2 := make(feed), make(feed)
	w1 := start(t, newAgent(t, srv, t.TempDir(), scan1))
	a2 := newAgent(t, srv, t.TempDir(), scan2)
	w2 := start(t, a2)
	code := srv.IssueCode(plain.UserID)
	scan1 <- code
	if e := w1.until("decoded", ended); e.Type() != event.TypeDecoded {
		t.Fatalf("first terminal: %+v", e)
	}
	scan2 <- code
	// Both terminals are "till1": another database, so another tag, makes
	// another sence_no all the same.
	df, ok := w2.until("decode_failed", ended).(event.DecodeFailed)
	if !ok || df.SubCode != alipay.SubSenceNoUnMatch {
		t.Fatalf("second terminal: %+v, want SENCENO_UN_MATCH", df)
	}
}

// Coupons meet an outage: first the gateway issues them but the answers are
// lost, then it cannot be reached at all. After it is back every coupon is
// issued, each exactly once.
func TestOutageWhileIssuingCoupons(t *testing.T) {
	srv := newServer(t)
	scan := make(feed)
	a := newAgent(t, srv, t.TempDir(), scan)
	w := start(t, a)
	srv.SetFault(alipay.MethodPassInstanceAdd, alipaytest.Fault{Drop: true, Processed: true})
	scan <- srv.IssueCode(student.UserID)
	d := w.until("decoded", ended).(event.Decoded)
	// Both coupons go out and their answers are lost.
	jobs := map[string]bool{}
	w.until("both coupons queued", func(e event.Event) bool {
		if q, ok := e.(event.Queued); ok && q.Kind == coupon.JobKind {
			jobs[q.JobID] = true
		}
		return len(jobs) == 2
	})
	w.reach("gateway down", 1, func(e event.Event) bool { g, ok := e.(event.Gateway); return ok && g.State == event.GatewayDown })
	if err := srv.SetDown(true); err != nil {
		t.Fatal(err)
	}
	w.until("a coupon retried during the outage", func(e event.Event) bool {
		q, ok := e.(event.Queued)
		return ok && q.Kind == coupon.JobKind && q.Attempt >= 2
	})
	if err := srv.SetDown(false); err != nil {
		t.Fatal(err)
	}
	srv.ClearFaults()
	w.reach("2 coupon_issued", 2, isType(event.TypeCouponIssued))
	// Up at the first answer (the decode), then again after the outage.
	w.reach("gateway up again", 2, func(e event.Event) bool { g, ok := e.(event.Gateway); return ok && g.State == event.GatewayUp })
	passes := srv.Passes()
	if len(passes) != 2 {
		t.Fatalf("%d passes, want 2: %+v", len(passes), passes)
	}
	for _, p := range passes {
		if p.SerialNumber != coupon.Serial(d.SenceNo, p.TplID) || p.Requests < 2 {
			t.Errorf("pass %s/%s answered %d requests: want the derived serial, issued once and found again on retry", p.TplID, p.SerialNumber, p.Requests)
		}
	}
	if n := w.count(isType(event.TypeCouponIssued)); n != 2 {
		t.Errorf("%d coupon_issued events, want 2", n)
	}
	if pending, dead, err := a.Queue.Stats(); err != nil || dead != 0 {
		t.Errorf("queue: %d pending, %d dead, %v", pending, dead, err)
	}
}

// A stop while a decode is on its way leaves it in the queue; the next start
// decodes it with the same sence_no.
func TestStopLeavesDecodeQueued(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	scan := make(feed)
	a := newAgent(t, srv, dir, scan)
	a.grace = 50 * time.Millisecond
	w := &watcher{t: t, sub: a.Bus.Subscribe()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	srv.SetFault(alipay.MethodTwostageCommonUse, alipaytest.Fault{Latency: time.Minute})
	code := srv.IssueCode(plain.UserID)
	scan <- code
	first := w.until("decoding", isType(event.TypeDecoding)).(event.Decoding)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	pending, err := a.Queue.Pending()
	if err != nil || len(pending) != 1 || pending[0].Kind != "decode" {
		t.Fatalf("pending after stop: %+v, %v; want the decode", pending, err)
	}
	if strings.Contains(string(pending[0].Payload), code) {
		t.Fatal("queued decode holds its code in clear")
	}
	a.Close()
	srv.ClearFaults()

	b := newAgent(t, srv, dir, make(feed))
	w2 := start(t, b)
	d, ok := w2.until("decoded after restart", ended).(event.Decoded)
	if !ok || d.SenceNo != first.SenceNo {
		t.Fatalf("after restart: %+v, want decoded with sence_no %s", d, first.SenceNo)
	}
}

// A decode job the queue gives up on holds a payment code: it is deleted
// as it dies, not kept in the dead list, and its death is still news.
// Other dead jobs stay for staff.
func TestDeadDecodeJobsAreNotKept(t *testing.T) {
	srv := newServer(t)
	a := newAgent(t, srv, t.TempDir(), make(feed))
	defer a.Close()
	sub := a.Bus.Subscribe()
	defer sub.Close()
	ctx := context.Background()
	// Both payloads are unreadable: the agent's handlers end each job at
	// its first run.
	queued := map[string]string{} // id -> kind
	for _, j := range []queue.Job{
		{Kind: decode.JobKind, Key: "d", Payload: []byte(`{"code":"286861260475412123"}`)},
		{Kind: coupon.JobKind, Key: "c", Payload: []byte(`{}`)},
	} {
		q, err := a.Queue.Enqueue(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		queued[q.ID] = j.Kind
	}
	for _, d := range untilDead(t, a.Queue, sub, len(queued)) {
		if kind, ok := queued[d.JobID]; !ok || d.Kind != kind {
			t.Errorf("dead event %+v, want one of %v", d, queued)
		}
	}
	dead, err := a.Queue.Dead()
	if err != nil || len(dead) != 1 || dead[0].Kind != coupon.JobKind {
		t.Errorf("dead jobs %+v, %v; want only the coupon job", dead, err)
	}
	if p, d, _ := a.Queue.Stats(); p != 0 || d != 1 {
		t.Errorf("Stats = %d pending, %d dead; want 0, 1", p, d)
	}
}

// A dead decode job left in the file (by a version that kept them, or a
// crash before it was dropped) is deleted when the agent starts.
func TestDeadDecodeJobOnDiskDeletedAtStart(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	db, err := dbfile.Open(filepath.Join(dir, DBFile), dbfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bus := event.NewBus()
	sub := bus.Subscribe()
	old, err := queue.New(db, queue.Options{Events: bus}) // keeps every kind's dead
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, kind := range []string{decode.JobKind, coupon.JobKind} {
		if _, err := old.Enqueue(ctx, queue.Job{Kind: kind, Payload: []byte(`{"code":"286861260475412123"}`)}); err != nil {
			t.Fatal(err)
		}
		old.Handle(kind, func(context.Context, queue.Job) error { return queue.Permanent(errors.New("gave up")) })
	}
	untilDead(t, old, sub, 2)
	if dead, _ := old.Dead(); len(dead) != 2 {
		t.Fatalf("%d dead jobs before the start, want 2", len(dead))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	a := newAgent(t, srv, dir, make(feed))
	defer a.Close()
	dead, err := a.Queue.Dead()
	if err != nil || len(dead) != 1 || dead[0].Kind != coupon.JobKind {
		t.Errorf("dead jobs after the start %+v, %v; want only the coupon job", dead, err)
	}
	if p, d, _ := a.Queue.Stats(); p != 0 || d != 1 {
		t.Errorf("Stats = %d pending, %d dead; want 0, 1", p, d)
	}
}

// The merchant's endpoint adds coupons to the configured ones; when it is
// down, the configured ones still go out.
func TestMerchantCoupons(t *testing.T) {
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var who map[string]string
		json.NewDecoder(r.Body).Decode(&who)
		if who["user_id"] != student.UserID {
			io.WriteString(w, `{"coupons":[]}`)
			return
		}
		io.WriteString(w, `{"coupons":[{"tpl_id":"tplMerchant","tpl_params":{"who":"{campus_no}"}}]}`)
	}))
	defer merchant.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()

	for _, tt := range []struct {
		name string
		url  string
		want []string
	}{
		{"up", merchant.URL, []string{"tplAny", "tplCampus", "tplMerchant"}},
		{"down", gone.URL, []string{"tplAny", "tplCampus"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			scan := make(feed)
			a := newAgent(t, srv, t.TempDir(), scan, func(c *config.Config) { c.MerchantCouponURL = tt.url })
			w := start(t, a)
			scan <- srv.IssueCode(student.UserID)
			w.reach("coupons issued", len(tt.want), isType(event.TypeCouponIssued))
			var got []string
			for _, p := range srv.Passes() {
				got = append(got, p.TplID)
				if p.TplID == "tplMerchant" && p.TplParams["who"] != student.School.CampusNo {
					t.Errorf("merchant coupon params %v", p.TplParams)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("passes %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGatewayUpAtFirstAnswer(t *testing.T) {
	srv := newServer(t)
	scan := make(feed)
	w := start(t, newAgent(t, srv, t.TempDir(), scan))
	scan <- srv.IssueCode(plain.UserID)
	w.until("gateway up", func(e event.Event) bool { g, ok := e.(event.Gateway); return ok && g.State == event.GatewayUp })
	scan <- srv.IssueCode(plain.UserID)
	w.reach("a second decode", 2, isType(event.TypeDecoded))
	w.reach("both coupons", 2, isType(event.TypeCouponIssued))
	if n := w.count(isType(event.TypeGateway)); n != 1 {
		t.Errorf("%d gateway events, want the first answer's only", n)
	}
}

// brokenScanner cannot run at all.
type brokenScanner struct{}

func (brokenScanner) Run(context.Context, chan<- scanner.Event) error {
	return errors.New("no such device")
}

func TestScannerFailureStopsAgent(t *testing.T) {
	srv := newServer(t)
	a := newAgent(t, srv, t.TempDir(), brokenScanner{})
	defer a.Close()
	done := make(chan error, 1)
	go func() { done <- a.Run(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "no such device") {
			t.Errorf("Run = %v, want the scanner's error", err)
		}
	case <-time.After(patience):
		t.Fatal("Run went on without a scanner")
	}
}
