package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"posagent/internal/api"
	"posagent/internal/config"
	"posagent/internal/decode"
	"posagent/internal/httpjson"
	"posagent/internal/scanner"
)

// apiCloseWait bounds how long a stopping agent waits for API requests in
// progress.
const apiCloseWait = 5 * time.Second

// newAPI builds the local API from the configuration's api key, or nothing
// when it is "off". The token file is made on first start.
func (a *Agent) newAPI(o Options) error {
	c := a.Config.API
	listen := c.ListenAddr()
	if listen == config.APIOff {
		return nil
	}
	tokenFile := c.TokenFile
	if tokenFile == "" {
		tokenFile = filepath.Join(a.Config.DataDir, api.TokenFile)
	}
	token, err := api.LoadToken(tokenFile)
	if err != nil {
		return err
	}
	payments := o.Payments
	if payments == nil {
		payments = a.Payments.Handler()
	}
	srv, err := api.New(api.Options{
		Listen: listen, Token: token, AllowOrigins: c.AllowOrigins, TLSCert: c.TLSCert, TLSKey: c.TLSKey,
		Bus: a.Bus, FirstSeq: a.seq.First(), PrevLastSeq: a.seq.PrevLast(), Version: Version(), RunID: a.RunID, ValidCode: scanner.ValidPaymentCode,
		Scans: a, Queue: a.Queue, Agreements: gateway{c: a.Client, h: a.Health}, Orders: appPayOrders{a.Client, a.Config.AppPay.NotifyURL, a.log, "api"},
		Payments: payments, Log: a.log, Now: a.now,
	})
	if err != nil {
		return err
	}
	a.API, a.apiURL, a.apiTokenFile = srv, srv.URL(), tokenFile
	return nil
}

// serveAPI serves the API while Run runs and writes where it is, for
// `posagent queue retry|drop`; the returned func stops it once the
// stopping event is published, and removes the endpoint file.
func (a *Agent) serveAPI() (stop func()) {
	if a.API == nil {
		return func() {}
	}
	served := make(chan error, 1)
	go func() { served <- a.API.Serve() }()
	dir := a.Config.DataDir
	a.log.Info("local API", "url", a.apiURL, "token_file", a.apiTokenFile)
	if err := api.WriteEndpoint(dir, api.Endpoint{URL: a.apiURL, TokenFile: a.apiTokenFile, PID: os.Getpid()}); err != nil {
		a.log.Warn("api endpoint file not written: posagent queue retry|drop will not find this agent", "err", err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), apiCloseWait)
		defer cancel()
		if err := a.API.Close(ctx); err != nil {
			a.log.Warn("api close", "err", err)
		}
		if err := <-served; err != nil {
			a.log.Error("api", "err", err)
		}
		if err := api.RemoveEndpoint(dir); err != nil {
			a.log.Warn("api endpoint file not removed", "err", err)
		}
	}
}

// drainAPI makes the API refuse requests that would change anything as
// soon as ctx is done, and waits for those in progress, apiCloseWait at
// most; the returned func waits for that. The stopping event is published
// after it, so that no request of this run publishes after stopping.
func (a *Agent) drainAPI(ctx context.Context) (wait func()) {
	if a.API == nil {
		return func() {}
	}
	done := make(chan struct{})
	context.AfterFunc(ctx, func() {
		defer close(done)
		dctx, cancel := context.WithTimeout(context.Background(), apiCloseWait)
		defer cancel()
		if err := a.API.Drain(dctx); err != nil {
			a.log.Warn("stopping with API requests still in progress: their events may follow stopping", "waited", apiCloseWait, "err", err)
		}
	})
	return func() { <-done }
}

// manual is a code entered through the API, on its way to Run's loop.
type manual struct {
	code     string
	at       time.Time
	assigned chan string
}

// errStopped: the agent no longer takes codes because it is stopping; the
// API answers it 503 "stopping", as every write during a stop.
var errStopped = fmt.Errorf("the agent is not running: %w", api.ErrStopping)

// Enter puts a payment code typed by hand into the decode flow, in turn
// with the scanner's codes (source "api"), and returns its sence_no once it
// is assigned. The code is checked as a scanned one is.
func (a *Agent) Enter(ctx context.Context, code string) (string, error) {
	if err := scanner.ValidPaymentCode(code); err != nil {
		return "", err
	}
	m := manual{code: code, at: a.now(), assigned: make(chan string, 1)}
	select {
	case a.manual <- m:
	case <-a.stopped:
		return "", errStopped
	case <-ctx.Done():
		return "", ctx.Err()
	}
	select {
	case sn := <-m.assigned:
		if sn == "" {
			return "", errors.New("the terminal cannot record the scan (see the decode_failed event)")
		}
		return sn, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// enter runs a manual code through the flow, as handle does a scan.
func (a *Agent) enter(ctx context.Context, m manual) {
	_, err := a.Decode.Scan(ctx, decode.Scan{Code: m.code, Source: api.ManualSource, Time: m.at,
		Assigned: func(sn string) { m.assigned <- sn }})
	if err != nil {
		a.log.Info("entered code not decoded", "err", err)
	}
}

// QueueChange retries or drops a job of the agent running on dataDir,
// through its API (the database is locked while it runs).
func QueueChange(ctx context.Context, w io.Writer, dataDir, action, id string) error {
	var method, path string
	switch action {
	case "retry":
		method, path = http.MethodPost, "/v1/queue/"+id+"/retry"
	case "drop":
		method, path = http.MethodDelete, "/v1/queue/"+id
	default:
		return fmt.Errorf("queue: unknown action %q: want retry or drop", action)
	}
	e, token, err := api.ReadEndpoint(dataDir)
	if err != nil {
		return fmt.Errorf("%w; start posagent with its API on (it retries and drops jobs), or stop it and use posagent queue to list", err)
	}
	req, err := http.NewRequestWithContext(ctx, method, e.URL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("posagent API at %s: %w (is the agent still running?)", e.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s job %s: %s", action, id, apiMessage(resp.Status, body))
	}
	fmt.Fprintf(w, "job %s: %s\n", id, map[string]string{"retry": "put back in line", "drop": "dropped"}[action])
	return nil
}

// apiMessage is the message of an API error answer, or its status.
func apiMessage(status string, body []byte) string {
	var e httpjson.ErrorBody
	if json.Unmarshal(body, &e) != nil || e.Error.Message == "" {
		return status
	}
	return e.Error.Message
}
