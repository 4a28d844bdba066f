package gwhealth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/event"
	"posagent/internal/event/eventtest"
)

var (
	refused    = &alipay.Error{Err: fmt.Errorf("%w: dial tcp: connection refused", alipay.ErrUnreachable)}
	businessNo = &alipay.Error{Code: "40004", SubCode: "INVALID_DYNAMIC_ID", HTTPStatus: 200}
)

// Only a verified answer means up; a request that left without one means
// down; one that never left, or that its caller cancelled, proves nothing.
func TestReport(t *testing.T) {
	for _, c := range []struct {
		name  string
		err   error
		want  string
		cause string
	}{
		{"success", nil, Up, ""},
		{"business error", businessNo, Up, ""},
		{"unsigned business error", &alipay.Error{Code: "40004", HTTPStatus: 200, Err: alipay.ErrUnsigned}, Down, event.CauseUnreachable},
		{"bad signature", &alipay.Error{HTTPStatus: 200, Err: alipay.ErrSignature}, Down, event.CauseConfig},
		{"malformed", &alipay.Error{HTTPStatus: 200, Err: alipay.ErrMalformed}, Down, event.CauseUnreachable},
		{"unknown certificate", &alipay.Error{HTTPStatus: 200, Err: alipay.ErrUnknownCert}, Down, event.CauseConfig},
		{"HTTP 500", &alipay.Error{HTTPStatus: 500, Err: errors.New("unexpected HTTP status")}, Down, event.CauseUnreachable},
		{"HTTP 503", &alipay.Error{HTTPStatus: 503, Err: alipay.ErrUnreachable}, Down, event.CauseUnreachable},
		{"refused", refused, Down, event.CauseUnreachable},
		{"timed out", &alipay.Error{Err: fmt.Errorf("%w: %w", alipay.ErrUnreachable, context.DeadlineExceeded)}, Down, event.CauseUnreachable},
		{"cancelled by the caller", &alipay.Error{Err: context.Canceled}, Unknown, ""},
		{"cancelled while the answer came", &alipay.Error{HTTPStatus: 200, Err: context.Canceled}, Unknown, ""},
		{"bad field", &alipay.Error{Err: &alipay.FieldError{Field: "biz_content.sence_no", Msg: "too long"}}, Unknown, ""},
		{"sence_no not on disk", &alipay.Error{Err: errors.New("not sent: disk full")}, Unknown, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := &eventtest.Recorder{}
			h := New(Options{Events: rec})
			h.Report(c.err)
			if got := h.State(); got != c.want {
				t.Errorf("State = %q, want %q", got, c.want)
			}
			if got := h.Cause(); got != c.cause {
				t.Errorf("Cause = %q, want %q", got, c.cause)
			}
			if g, ok := rec.Last().(event.Gateway); ok && (g.Cause != c.cause || (g.Detail == "") != (c.cause == "")) {
				t.Errorf("event %+v, want cause %q, a detail with a cause", g, c.cause)
			}
			if n := len(rec.All()); (c.want == Unknown) != (n == 0) {
				t.Errorf("%d events %v for state %q", n, rec.All(), c.want)
			}
		})
	}
}

// A wrong key (answers that do not verify) and an outage are both down,
// each its own event when the cause changes; Up's channel stays as it is.
func TestCauseChanges(t *testing.T) {
	rec := &eventtest.Recorder{}
	h := New(Options{Events: rec})
	badSig := &alipay.Error{HTTPStatus: 200, Err: alipay.ErrSignature}
	for _, err := range []error{badSig, badSig, refused, nil} {
		h.Report(err)
	}
	var got []string
	for _, e := range rec.All() {
		g := e.(event.Gateway)
		got = append(got, g.State+"/"+g.Cause)
	}
	if want := "[down/config down/unreachable up/]"; fmt.Sprint(got) != want {
		t.Errorf("events %v, want %s", got, want)
	}
}

// Each change is one event, in order; repeated evidence is none. Up is a
// channel closed while the gateway is up.
func TestChanges(t *testing.T) {
	rec := &eventtest.Recorder{}
	h := New(Options{Events: rec})
	up := h.Up()
	for _, err := range []error{refused, refused, nil, businessNo, refused} {
		h.Report(err)
	}
	var states []string
	for _, e := range rec.All() {
		states = append(states, e.(event.Gateway).State)
	}
	if fmt.Sprint(states) != "[down up down]" || !h.Down() {
		t.Errorf("events %v, Down() = %v; want [down up down], true", states, h.Down())
	}
	select {
	case <-up:
	default:
		t.Error("Up() taken before the gateway came up was not closed when it did")
	}
	select {
	case <-h.Up():
		t.Error("Up() closed while down")
	default:
	}
	h.Report(nil)
	<-h.Up()
}

// While the gateway is down and no call reports, Run probes it every
// ProbeEvery; a probe that gets an answer ends "down" without a scan.
func TestRunProbesWhileDownAndQuiet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gatewayBack := time.Now().Add(25 * time.Second)
		var probes []time.Time
		rec := &eventtest.Recorder{}
		h := New(Options{Events: rec, ProbeEvery: 10 * time.Second, Probe: func(ctx context.Context) error {
			probes = append(probes, time.Now())
			if time.Now().Before(gatewayBack) {
				return refused
			}
			return businessNo // the probe's request is refused, verifiably
		}})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go h.Run(ctx)

		synctest.Wait()
		if len(probes) != 0 {
			t.Fatal("probed while the state is unknown")
		}
		start := time.Now()
		h.Report(refused)
		time.Sleep(5 * time.Second)
		h.Report(refused) // a queued job's retry: the gateway is not quiet
		<-h.Up()
		var after []time.Duration
		for _, p := range probes {
			after = append(after, p.Sub(start))
		}
		if fmt.Sprint(after) != "[15s 25s]" {
			t.Errorf("probes at %v after going down, want [15s 25s]", after)
		}
		cancel()
		synctest.Wait()
		if g := rec.Last().(event.Gateway); g.State != Up || len(rec.All()) != 2 {
			t.Errorf("events %v, want down then up", rec.All())
		}
	})
}
