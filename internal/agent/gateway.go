package agent

import (
	"context"

	"posagent/internal/alipay"
	"posagent/internal/gwhealth"
	"posagent/internal/queue"
)

// gateway is the client as the decode flow, the coupon issuer and the
// agreement dialog call it: every call's outcome goes to the gateway's
// health, so that "gateway down" ends with the first verified answer,
// whoever asked (a scan, a queued job, the agreement screen), and starts
// with the first request that could not reach it.
type gateway struct {
	c *alipay.Client
	h *gwhealth.Health
}

func (g gateway) TwostageCommonUse(ctx context.Context, req alipay.TwostageRequest) (*alipay.TwostageResponse, error) {
	resp, err := g.c.TwostageCommonUse(ctx, req)
	g.h.Report(err)
	return resp, err
}

func (g gateway) PassInstanceAdd(ctx context.Context, req alipay.PassInstanceAddRequest) (*alipay.PassInstanceAddResponse, error) {
	resp, err := g.c.PassInstanceAdd(ctx, req)
	g.h.Report(err)
	return resp, err
}

func (g gateway) AgreementAuthConfirm(ctx context.Context, req alipay.AgreementAuthConfirmRequest) error {
	err := g.c.AgreementAuthConfirm(ctx, req)
	g.h.Report(err)
	return err
}

func (g gateway) TradePay(ctx context.Context, req alipay.TradePayRequest) (*alipay.TradePayResponse, error) {
	resp, err := g.c.TradePay(ctx, req)
	g.h.Report(err)
	return resp, err
}

func (g gateway) TradeQuery(ctx context.Context, req alipay.TradeQueryRequest) (*alipay.TradeQueryResponse, error) {
	resp, err := g.c.TradeQuery(ctx, req)
	g.h.Report(err)
	return resp, err
}

func (g gateway) TradeCancel(ctx context.Context, req alipay.TradeCancelRequest) (*alipay.TradeCancelResponse, error) {
	resp, err := g.c.TradeCancel(ctx, req)
	g.h.Report(err)
	return resp, err
}

// probe asks the gateway something that changes nothing at Alipay: a decode
// of alipay.ProbeDynamicID under a sence_no of its own.
func (g gateway) probe(terminalID, payPID string) func(context.Context) error {
	req := alipay.TwostageRequest{DynamicID: alipay.ProbeDynamicID, SenceNo: terminalID + "-probe", PayPID: payPID}
	return func(ctx context.Context) error {
		_, err := g.c.TwostageCommonUse(ctx, req)
		return err
	}
}

// handler runs a queued job's work and tells the queue which failures are
// final.
func handler(work func(ctx context.Context, j queue.Job) error) queue.Handler {
	return func(ctx context.Context, j queue.Job) error {
		return final(work(ctx, j))
	}
}
