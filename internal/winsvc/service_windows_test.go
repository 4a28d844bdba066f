package winsvc

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/windows/svc"
)

// The handler reports Running, cancels the work on Stop, and reports how
// the work ended: a failure as exit code 1, so the recovery actions apply.
func TestHandler(t *testing.T) {
	tests := []struct {
		name     string
		work     func(ctx context.Context) error
		stop     bool
		wantCode uint32
	}{
		{"stopped by the manager", func(ctx context.Context) error { <-ctx.Done(); return nil }, true, 0},
		{"work fails", func(context.Context) error { return errors.New("scanner gone") }, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := make(chan svc.ChangeRequest, 1)
			status := make(chan svc.Status, 8)
			type result struct {
				specific bool
				code     uint32
			}
			done := make(chan result, 1)
			go func() {
				s, c := handler(tt.work).Execute(nil, req, status)
				done <- result{s, c}
			}()
			deadline := time.After(10 * time.Second)
			for running := false; !running; {
				select {
				case st := <-status:
					running = st.State == svc.Running
				case <-deadline:
					t.Fatal("never reported Running")
				}
			}
			if tt.stop {
				req <- svc.ChangeRequest{Cmd: svc.Stop}
			}
			select {
			case r := <-done:
				if r.code != tt.wantCode || r.specific != (tt.wantCode != 0) {
					t.Errorf("Execute = %v, %d; want exit code %d", r.specific, r.code, tt.wantCode)
				}
			case <-deadline:
				t.Fatal("Execute did not return")
			}
		})
	}
}
