package payment

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"posagent/internal/event"

	"posagent/internal/httpjson"
)

// Handler serves the payments part of the local API. Mount it behind the
// API's token check; it answers these paths only:
//
//	POST /v1/payments                      {sence_no, out_trade_no, total_amount, subject, store_id?, operator_id?}
//	                                       → 202 with the new payment, 200 with the same one for a repeat
//	GET  /v1/payments?sence_no=&state=&limit= → 200 {"payments": [...]}, newest first, at most MaxList
//	GET  /v1/payments/{out_trade_no}       → 200 with the payment
//	POST /v1/payments/{out_trade_no}/cancel → 202 with the payment (the cashier gives up)
//
// Errors are httpjson's {"error": {"code", "message"}}.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	var routes []string
	handle := func(pattern string, h http.HandlerFunc) {
		routes = append(routes, pattern)
		mux.HandleFunc(pattern, h)
	}
	handle("POST /v1/payments", func(w http.ResponseWriter, r *http.Request) {
		var req Request
		if !httpjson.DecodeOrFail(w, r, &req, 0) {
			return
		}
		p, created, err := s.Pay(r.Context(), req)
		if err != nil {
			writeError(w, err)
			return
		}
		status := http.StatusOK
		if created {
			status = http.StatusAccepted
		}
		httpjson.Write(w, status, p)
	})
	handle("GET /v1/payments", func(w http.ResponseWriter, r *http.Request) {
		f, err := listFilter(r.URL.Query())
		if err != nil {
			httpjson.Error(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		ps, err := s.List(f)
		if err != nil {
			writeError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, map[string]any{"payments": ps})
	})
	handle("GET /v1/payments/{out_trade_no}", func(w http.ResponseWriter, r *http.Request) {
		p, err := s.Get(r.PathValue("out_trade_no"))
		if err != nil {
			writeError(w, err)
			return
		}
		httpjson.Write(w, http.StatusOK, p)
	})
	handle("POST /v1/payments/{out_trade_no}/cancel", func(w http.ResponseWriter, r *http.Request) {
		p, err := s.Cancel(r.Context(), r.PathValue("out_trade_no"))
		if err != nil {
			writeError(w, err)
			return
		}
		httpjson.Write(w, http.StatusAccepted, p)
	})
	// Other methods and paths get the API's JSON errors too, not the
	// mux's plain text.
	httpjson.Fallbacks(mux, routes)
	return mux
}

func writeError(w http.ResponseWriter, err error) {
	var e *Error
	if errors.As(err, &e) {
		if e.Status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "5")
		}
		httpjson.Error(w, e.Status, e.Code, e.Msg)
		return
	}
	httpjson.Error(w, http.StatusInternalServerError, "internal", err.Error())
}

// listFilter reads GET /v1/payments' query: sence_no, state (one of the
// payment states, or StateOpen), limit (1 to MaxList). Anything else is an error naming
// it.
func listFilter(q url.Values) (Filter, error) {
	var f Filter
	for k, vs := range q {
		if len(vs) != 1 {
			return f, fmt.Errorf("%s: give it once", k)
		}
		v := vs[0]
		switch k {
		case "sence_no":
			f.SenceNo = v
		case "state":
			if v != StateOpen && !slices.Contains(states, v) {
				return f, fmt.Errorf("state: %q is not one of %s, or %s", v, strings.Join(states, ", "), StateOpen)
			}
			f.State = v
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxList {
				return f, fmt.Errorf("limit: %q is not a number from 1 to %d", v, MaxList)
			}
			f.Limit = n
		default:
			return f, fmt.Errorf("%s: unknown parameter (sence_no, state or limit)", k)
		}
	}
	return f, nil
}

// states are the states of a payment, in the order they come.
var states = []string{
	event.PaymentSending, event.PaymentWaitingBuyer, event.PaymentUnknown, event.PaymentCancelling,
	event.PaymentPaid, event.PaymentFailed, event.PaymentCancelled, event.PaymentRefunded,
}
