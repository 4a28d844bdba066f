package agent

import (
	"context"
	"errors"
	"sync/atomic"

	"posagent/internal/alipay"
	"posagent/internal/queue"
)

// gateway is the client as the decode flow, the coupon issuer and the
// agreement dialog call it.
//
// It tells the queue of every verified answer (queue.Reached), so that
// "gateway down" ends with the first scan that decodes: the queue alone
// learns only from its jobs, and once staff drop the job it probed with
// (or it dies), nothing would end it.
//
// It notes on a queued job's context whether a request left, so that a job
// that ends without one (a decode whose code expired in the queue, a
// payload that cannot be read, a parameter refused before sending) does not
// count as the gateway's answer: while the gateway is down, such a run
// would otherwise end "down" on no evidence.
type gateway struct {
	c *alipay.Client
	q *queue.Queue
}

func (g gateway) TwostageCommonUse(ctx context.Context, req alipay.TwostageRequest) (*alipay.TwostageResponse, error) {
	resp, err := g.c.TwostageCommonUse(ctx, req)
	g.note(ctx, err)
	return resp, err
}

func (g gateway) PassInstanceAdd(ctx context.Context, req alipay.PassInstanceAddRequest) (*alipay.PassInstanceAddResponse, error) {
	resp, err := g.c.PassInstanceAdd(ctx, req)
	g.note(ctx, err)
	return resp, err
}

func (g gateway) AgreementAuthConfirm(ctx context.Context, req alipay.AgreementAuthConfirmRequest) error {
	err := g.c.AgreementAuthConfirm(ctx, req)
	g.note(ctx, err)
	return err
}

func (g gateway) TradePay(ctx context.Context, req alipay.TradePayRequest) (*alipay.TradePayResponse, error) {
	resp, err := g.c.TradePay(ctx, req)
	g.note(ctx, err)
	return resp, err
}

func (g gateway) TradeQuery(ctx context.Context, req alipay.TradeQueryRequest) (*alipay.TradeQueryResponse, error) {
	resp, err := g.c.TradeQuery(ctx, req)
	g.note(ctx, err)
	return resp, err
}

func (g gateway) TradeCancel(ctx context.Context, req alipay.TradeCancelRequest) (*alipay.TradeCancelResponse, error) {
	resp, err := g.c.TradeCancel(ctx, req)
	g.note(ctx, err)
	return resp, err
}

func (g gateway) note(ctx context.Context, err error) {
	if t, ok := ctx.Value(tallyKey{}).(*tally); ok && sent(err) {
		t.sent.Store(true)
	}
	if answered(err) {
		g.q.Reached()
	}
}

// answered reports whether a call got a verified answer from the gateway: a
// result, or the gateway's own error code in a signed answer. Transport
// failures, HTTP errors and answers that do not verify prove nothing.
func answered(err error) bool {
	var ae *alipay.Error
	return err == nil || errors.As(err, &ae) && ae.Code != "" && ae.Err == nil
}

// sent reports whether a call's request left for the gateway, whatever came
// back: an answer, an HTTP error, or a transport failure.
func sent(err error) bool {
	var ae *alipay.Error
	return err == nil || alipay.Unreachable(err) || errors.Is(err, context.Canceled) ||
		errors.As(err, &ae) && ae.HTTPStatus != 0
}

// tally is what the gateway notes for one queued job's run.
type tally struct{ sent atomic.Bool }

type tallyKey struct{}

// handler runs a queued job's work and tells the queue which failures are
// final (final) and whether the run sent anything at all (queue.NotSent).
func handler(work func(ctx context.Context, j queue.Job) error) queue.Handler {
	return func(ctx context.Context, j queue.Job) error {
		t := new(tally)
		err := final(work(context.WithValue(ctx, tallyKey{}, t), j))
		if !t.sent.Load() {
			return queue.NotSent(err)
		}
		return err
	}
}
