package api

import (
	"net/http"
	"slices"
	"time"

	"posagent/internal/httpjson"
)

// routesInit registers every route. Each path also gets a fallback that
// answers other methods with 405 in the API's error shape.
func (s *Server) routesInit() {
	s.mux = http.NewServeMux()
	s.handle("GET /healthz", s.healthz)
	s.handle("GET /v1/events", s.events)
	s.handle("GET /v1/status", s.status)
	s.handle("POST /v1/scans", s.scan)
	s.handle("POST /v1/agreements/confirm", s.confirmAgreement)
	s.handle("POST /v1/app-pay/orders", s.appPayOrder)
	s.handle("GET /v1/queue", s.listQueue)
	s.handle("POST /v1/queue/{id}/retry", s.retryJob)
	s.handle("DELETE /v1/queue/{id}", s.dropJob)
	s.handle("GET /metrics", s.serveMetrics)
	s.handle("GET /v1/openapi.json", s.openapi)
	payments := s.o.Payments
	if payments == nil {
		payments = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			unavailable(w, "payments are not available in this posagent")
		})
	}
	timed := s.metrics.timed(payments.ServeHTTP)
	s.mux.HandleFunc("/v1/payments", timed)
	s.mux.HandleFunc("/v1/payments/", timed)
	httpjson.Fallbacks(s.mux, s.routes)
}

func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, pattern)
	if pattern == "GET /v1/events" {
		// A stream's duration is no latency.
		s.mux.HandleFunc(pattern, h)
		return
	}
	s.mux.HandleFunc(pattern, s.metrics.timed(h))
}

// Routes lists the routes served, as "METHOD /path" (payments aside: they
// are mounted under /v1/payments).
func (s *Server) Routes() []string { return slices.Clone(s.routes) }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	httpjson.Write(w, http.StatusOK, map[string]any{"ok": true})
}

func badRequest(w http.ResponseWriter, msg string) {
	httpjson.Error(w, http.StatusBadRequest, "bad_request", msg)
}

func unavailable(w http.ResponseWriter, msg string) {
	httpjson.Error(w, http.StatusServiceUnavailable, "unavailable", msg)
}

func since(t time.Time) *httpjson.Time {
	if t.IsZero() {
		return nil
	}
	return &httpjson.Time{Time: t}
}
