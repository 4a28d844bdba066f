package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"posagent/internal/alipay"
	"posagent/internal/httpjson"
	"posagent/internal/queue"
	"posagent/internal/redact"
)

// Status is the answer of GET /v1/status.
type Status struct {
	Version  string        `json:"version"`
	RunID    string        `json:"run_id"`
	Gateway  GatewayStatus `json:"gateway"`
	Scanner  ScannerStatus `json:"scanner"`
	Queue    QueueStatus   `json:"queue"`
	Customer *customer     `json:"customer"` // the last decoded customer; null before the first
	LastSeq  uint64        `json:"last_seq"`
}

// GatewayStatus is the gateway's state, when it began, and why it is down:
// "unreachable" (an outage) or "config" (answers that do not verify against
// the configured Alipay key: staff must fix the key).
type GatewayStatus struct {
	State  string         `json:"state"` // up, down, unknown
	Since  *httpjson.Time `json:"since"`
	Cause  string         `json:"cause"`
	Detail string         `json:"detail"`
}

// ScannerStatus is the scanner's last reported state.
type ScannerStatus struct {
	State  string         `json:"state"` // connected, disconnected, unknown
	Device string         `json:"device"`
	Since  *httpjson.Time `json:"since"`
}

// QueueStatus counts the retry queue's jobs.
type QueueStatus struct {
	Pending          int     `json:"pending"`
	Dead             int     `json:"dead"`
	OldestAgeSeconds float64 `json:"oldest_age_seconds"` // of the oldest pending job; 0 when none
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st := s.hub.status()
	out := Status{
		Version: s.o.Version, RunID: s.o.RunID, LastSeq: st.lastSeq, Customer: st.customer,
		Gateway: GatewayStatus{State: or(st.gateway, "unknown"), Since: since(st.gatewaySince), Cause: st.gatewayCause, Detail: st.gatewayDetail},
		Scanner: ScannerStatus{State: or(st.scanner, "unknown"), Device: st.device, Since: since(st.scannerSince)},
	}
	if q, err := s.queueStatus(); err == nil {
		out.Queue = q
	} else {
		s.o.Log.Warn("api status: queue", "err", err)
	}
	httpjson.Write(w, http.StatusOK, out)
}

func (s *Server) queueStatus() (QueueStatus, error) {
	var q QueueStatus
	if s.o.Queue == nil {
		return q, nil
	}
	p, d, err := s.o.Queue.Stats()
	if err != nil {
		return q, err
	}
	q.Pending, q.Dead = p, d
	if p > 0 {
		pending, err := s.o.Queue.Pending()
		if err != nil {
			return q, err
		}
		if len(pending) > 0 {
			q.OldestAgeSeconds = max(0, s.o.Now().Sub(pending[0].Created).Seconds())
		}
	}
	return q, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ScanRequest is the body of POST /v1/scans.
type ScanRequest struct {
	Code string `json:"code"`
}

// ScanAccepted is the answer of POST /v1/scans: the code is in the decode
// flow under SenceNo; the stream reports the rest (scan, decoding, decoded
// or decode_failed, all with this sence_no).
type ScanAccepted struct {
	SenceNo    string `json:"sence_no"`
	CodeMasked string `json:"code_masked"`
	Source     string `json:"source"`
}

// ManualSource is the source of a scan entered through the API.
const ManualSource = "api"

// enterWait bounds how long POST /v1/scans waits for the code's turn: the
// flow takes one code at a time and a code before it may wait for the
// gateway a few seconds.
const enterWait = 15 * time.Second

func (s *Server) scan(w http.ResponseWriter, r *http.Request) {
	var req ScanRequest
	if !httpjson.DecodeOrFail(w, r, &req, 0) {
		return
	}
	if s.o.Scans == nil || s.o.ValidCode == nil {
		unavailable(w, "manual entry is not available in this posagent")
		return
	}
	if err := s.o.ValidCode(req.Code); err != nil {
		httpjson.Error(w, http.StatusBadRequest, "bad_code", "code: "+err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), enterWait)
	defer cancel()
	sn, err := s.o.Scans.Enter(ctx, req.Code)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		unavailable(w, "the decode flow is busy; try again")
		return
	case errors.Is(err, ErrStopping):
		stopping(w)
		return
	case err != nil:
		httpjson.Error(w, http.StatusInternalServerError, "not_recorded", redact.Text(err.Error()))
		return
	}
	httpjson.Write(w, http.StatusAccepted, ScanAccepted{SenceNo: sn, CodeMasked: redact.Code(req.Code), Source: ManualSource})
}

// AgreementConfirm is the body of POST /v1/agreements/confirm
// (alipay.user.agreement.auth.confirm).
type AgreementConfirm struct {
	AgreementNo   string `json:"agreement_no"`
	ApplyToken    string `json:"apply_token"`
	AuthConfirmNo string `json:"auth_confirm_no"` // the SMS code
}

func (s *Server) confirmAgreement(w http.ResponseWriter, r *http.Request) {
	var body AgreementConfirm
	if !httpjson.DecodeOrFail(w, r, &body, 0) {
		return
	}
	req := alipay.AgreementAuthConfirmRequest{AgreementNo: strings.TrimSpace(body.AgreementNo),
		ApplyToken: strings.TrimSpace(body.ApplyToken), AuthConfirmNo: strings.TrimSpace(body.AuthConfirmNo)}
	if err := req.Validate(); err != nil {
		badRequest(w, err.Error())
		return
	}
	if s.o.Agreements == nil {
		unavailable(w, "this posagent has no gateway client")
		return
	}
	if err := s.o.Agreements.AgreementAuthConfirm(r.Context(), req); err != nil {
		gatewayError(w, err)
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"confirmed": true, "agreement_no": req.AgreementNo})
}

// gatewayError answers a failed gateway call: the gateway's refusal is 422
// with its sub_code, no verified answer 502.
func gatewayError(w http.ResponseWriter, err error) {
	var ae *alipay.Error
	if errors.As(err, &ae) && ae.Code != "" && ae.Err == nil {
		code := ae.SubCode
		if code == "" {
			code = ae.Code
		}
		httpjson.Error(w, http.StatusUnprocessableEntity, code, redact.Text(strings.TrimSpace(ae.Msg+" "+ae.SubMsg)))
		return
	}
	httpjson.Error(w, http.StatusBadGateway, "gateway_unreachable", redact.Text(err.Error()))
}

// AppPayOrder is the body of POST /v1/app-pay/orders: an
// alipay.trade.app.pay order string for the merchant's app.
type AppPayOrder struct {
	TotalAmount    string `json:"total_amount"` // yuan, at most two decimals
	Subject        string `json:"subject"`
	OutTradeNo     string `json:"out_trade_no"`
	Body           string `json:"body,omitempty"`
	TimeoutExpress string `json:"timeout_express,omitempty"`
	StoreID        string `json:"store_id,omitempty"`
}

func (s *Server) appPayOrder(w http.ResponseWriter, r *http.Request) {
	var body AppPayOrder
	if !httpjson.DecodeOrFail(w, r, &body, 0) {
		return
	}
	req := alipay.TradeAppPayRequest{
		TotalAmount: strings.TrimSpace(body.TotalAmount), Subject: strings.TrimSpace(body.Subject),
		OutTradeNo: strings.TrimSpace(body.OutTradeNo), Body: body.Body, TimeoutExpress: body.TimeoutExpress, StoreID: body.StoreID,
	}
	// The page's rules first, in the words POST /v1/payments uses: a bad
	// order is the POS's to fix whether or not this posagent can sign.
	if err := req.Validate(); err != nil {
		badRequest(w, err.Error())
		return
	}
	if s.o.Orders == nil {
		unavailable(w, "this posagent has no gateway client")
		return
	}
	order, err := s.o.Orders.AppPayOrder(req)
	var fe *alipay.FieldError
	switch {
	case errors.As(err, &fe):
		badRequest(w, fe.Error())
		return
	case err != nil:
		httpjson.Error(w, http.StatusInternalServerError, "internal", redact.Text(err.Error()))
		return
	}
	httpjson.Write(w, http.StatusCreated, map[string]any{"out_trade_no": strings.TrimSpace(body.OutTradeNo), "order_string": order})
}

// Job is a queued job as the API shows it: never its payload (a decode
// retry holds a payment code).
type Job struct {
	ID           string        `json:"id"`
	Kind         string        `json:"kind"`
	Key          string        `json:"key"`
	State        string        `json:"state"` // pending, running, dead
	SenceNo      string        `json:"sence_no"`
	TplID        string        `json:"tpl_id,omitempty"`
	SerialNumber string        `json:"serial_number,omitempty"`
	Attempts     int           `json:"attempts"`
	NextAt       httpjson.Time `json:"next_at"`
	Deadline     httpjson.Time `json:"deadline"`
	Created      httpjson.Time `json:"created"`
	LastError    string        `json:"last_error"`
}

func jobsOf(js []queue.Job) []Job {
	out := make([]Job, 0, len(js))
	for _, j := range js {
		out = append(out, Job{ID: j.ID, Kind: j.Kind, Key: j.Key, State: string(j.State), SenceNo: j.Subject.SenceNo,
			TplID: j.Subject.TplID, SerialNumber: j.Subject.SerialNumber, Attempts: j.Attempts,
			NextAt: httpjson.Time{Time: j.NextAt}, Deadline: httpjson.Time{Time: j.Deadline}, Created: httpjson.Time{Time: j.Created}, LastError: redact.Text(j.LastError)})
	}
	return out
}

func (s *Server) listQueue(w http.ResponseWriter, r *http.Request) {
	if s.o.Queue == nil {
		unavailable(w, "no queue")
		return
	}
	pending, err := s.o.Queue.Pending()
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, "queue", err.Error())
		return
	}
	dead, err := s.o.Queue.Dead()
	if err != nil {
		httpjson.Error(w, http.StatusInternalServerError, "queue", err.Error())
		return
	}
	httpjson.Write(w, http.StatusOK, map[string]any{"pending": jobsOf(pending), "dead": jobsOf(dead)})
}

func (s *Server) retryJob(w http.ResponseWriter, r *http.Request) {
	s.queueChange(w, r, "retried", func(id string) error { return s.o.Queue.RetryDead(id) })
}

func (s *Server) dropJob(w http.ResponseWriter, r *http.Request) {
	s.queueChange(w, r, "dropped", func(id string) error { return s.o.Queue.Drop(id) })
}

func (s *Server) queueChange(w http.ResponseWriter, r *http.Request, done string, change func(string) error) {
	if s.o.Queue == nil {
		unavailable(w, "no queue")
		return
	}
	id := r.PathValue("id")
	if n, err := strconv.ParseUint(id, 10, 64); err != nil || n == 0 {
		badRequest(w, "job id "+strconv.Quote(id)+" is not a job id: a whole number from 1 (GET /v1/queue lists them)")
		return
	}
	err := change(id)
	switch {
	case err == nil:
		httpjson.Write(w, http.StatusOK, map[string]any{"id": id, "result": done})
	case errors.Is(err, queue.ErrNotFound):
		httpjson.Error(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, queue.ErrNotDead), errors.Is(err, queue.ErrLeased), errors.Is(err, queue.ErrKept):
		httpjson.Error(w, http.StatusConflict, "conflict", err.Error())
	default:
		httpjson.Error(w, http.StatusInternalServerError, "queue", redact.Text(err.Error()))
	}
}
