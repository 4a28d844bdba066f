package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"posagent/internal/alipay"
	"posagent/internal/config"
	"posagent/internal/event"
	"posagent/internal/logfile"
	"posagent/internal/queue"
	"posagent/internal/redact"
)

// Log formats.
const (
	LogText = "text" // key=value lines: for people reading a terminal or a file
	LogJSON = "json" // one JSON object a line: for journald, Windows event forwarding, log shippers
)

// Logger returns where the agent logs, in format (LogText or LogJSON):
// stderr in headless mode; with the TUI on screen a size-bounded file in
// dataDir (rotated by internal/logfile), as a log line written to the
// terminal would garble the screen. Close the returned closer at exit.
// Every line is masked on its way out (redact.Handler).
func Logger(headlessMode bool, dataDir string, stderr io.Writer, format string) (*slog.Logger, io.Closer, error) {
	var handler func(io.Writer) slog.Handler
	switch format {
	case LogText, "":
		handler = func(w io.Writer) slog.Handler { return redact.Handler(slog.NewTextHandler(w, nil)) }
	case LogJSON:
		handler = func(w io.Writer) slog.Handler { return redact.Handler(slog.NewJSONHandler(w, nil)) }
	default:
		return nil, nil, fmt.Errorf("log format %q: want %s or %s", format, LogText, LogJSON)
	}
	if headlessMode {
		return slog.New(handler(stderr)), io.NopCloser(nil), nil
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("data_dir: %w", err)
	}
	f, err := logfile.Open(filepath.Join(dataDir, LogFile), 0)
	if err != nil {
		return nil, nil, err
	}
	return slog.New(handler(f)), f, nil
}

// logStart and logStop bracket a run in the log: which build, which
// configuration, which till.
func (a *Agent) logStart() {
	a.log.Info("start", "version", Version(), "config", a.configPath,
		"terminal_id", a.Config.TerminalID, "gateway_url", a.Config.GatewayURL, "data_dir", a.Config.DataDir,
		"scanner", a.Config.Scanner.Kind)
}

func (a *Agent) logStop(err error) {
	if err != nil {
		a.log.Error("stop", "err", err)
		return
	}
	a.log.Info("stop")
}

// logEvents logs the events an operator looks for (logEvent) until the
// returned stop is called; stop returns once every event published before
// it is logged.
func (a *Agent) logEvents() (stop func()) {
	sub := a.Bus.Subscribe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			// A closed subscription is drained before Next says so.
			e, err := sub.Next(context.Background())
			if err != nil {
				return
			}
			a.logEvent(e)
		}
	}()
	return func() {
		sub.Close()
		<-done
	}
}

// logEvent writes the events an operator looks for in the log: the
// gateway going down and coming back, and jobs that gave up.
func (a *Agent) logEvent(e event.Event) {
	switch e := e.(type) {
	case event.Gateway:
		if e.State == event.GatewayDown {
			a.log.Warn("gateway down")
		} else {
			a.log.Info("gateway up")
		}
	case event.Dead:
		a.log.Error("job dead", "job", e.JobID, "kind", e.Kind, "sence_no", e.SenceNo,
			"tpl_id", e.TplID, "reason", redact.Line(e.Reason))
	}
}

// staffQueue logs what staff do to the queue from the TUI. It keeps
// queue.Queue's other methods (the screen counts jobs with Stats).
type staffQueue struct {
	*queue.Queue
	log *slog.Logger
}

func (q staffQueue) RetryDead(id string) error {
	err := q.Queue.RetryDead(id)
	q.log.Info("staff: retry dead job", "job", id, "err", err)
	return err
}

func (q staffQueue) Drop(id string) error {
	err := q.Queue.Drop(id)
	if err != nil {
		q.log.Info("staff: drop job refused", "job", id, "err", err)
	}
	return err
}

// staffAgreements logs agreement confirmations staff send. The SMS code and
// the apply token are not logged.
type staffAgreements struct {
	gateway
	log *slog.Logger
}

func (s staffAgreements) AgreementAuthConfirm(ctx context.Context, req alipay.AgreementAuthConfirmRequest) error {
	err := s.gateway.AgreementAuthConfirm(ctx, req)
	s.log.Info("staff: confirm agreement", "agreement_no", req.AgreementNo, "err", err)
	return err
}

// appPayOrders builds the app-pay orders staff (the TUI) or the POS (the
// local API) ask for, with the configured app_pay.notify_url, and logs
// them with who asked.
type appPayOrders struct {
	c         *alipay.Client
	notifyURL string
	log       *slog.Logger
	by        string // "staff" or "api"
}

func (o appPayOrders) AppPayOrder(req alipay.TradeAppPayRequest) (string, error) {
	if req.NotifyURL == "" {
		req.NotifyURL = o.notifyURL
	}
	order, err := o.c.AppPayOrder(req)
	o.log.Info(o.by+": app-pay order", "out_trade_no", req.OutTradeNo, "total_amount", req.TotalAmount,
		"notify_url", req.NotifyURL, "err", err)
	return order, err
}

// logSaved logs a configuration saved on the settings screen: which keys
// wait for a restart, and whether applying the others failed.
func (a *Agent) logSaved(path string, c *config.Config, restart []string, applyErr error) {
	a.log.Info("staff: config saved", "config", path, "terminal_id", c.TerminalID, "restart_keys", restart, "err", applyErr)
}
