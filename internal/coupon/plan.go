package coupon

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"posagent/internal/decode"
	"posagent/internal/event"
	"posagent/internal/redact"
)

// MerchantJobKind names, in the queue, the asking of the merchant's
// endpoint which coupons a customer gets.
const MerchantJobKind = "merchant"

// MerchantDeadline is how long the merchant's endpoint is asked again while
// it fails. The local rules' coupons are queued at the decode already; the
// merchant's may come later, but not hours after the customer left.
const MerchantDeadline = time.Hour

// Templates returns the templates the local rules give id.
func (cs *Coupons) Templates(id decode.Identity) []Template {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.rules.Match(id)
}

// Plan makes id's coupons durable work, in one commit, before it returns:
// one issue per template the local rules give, and, with a merchant
// endpoint, a job that asks it (AskMerchant) rather than the request
// itself, so that a crash after the decode loses no coupon and the decode
// never waits on the merchant. It returns how many coupons were queued.
func (cs *Coupons) Plan(ctx context.Context, id decode.Identity) (int, error) {
	cs.mu.Lock()
	merchant := cs.merchant
	cs.mu.Unlock()
	ts := cs.Templates(id)
	ws := cs.work(id, ts)
	if merchant != nil {
		payload, _ := json.Marshal(ask{URL: merchant.URL, Identity: id}) // strings: cannot fail
		ws = append(ws, Work{Kind: MerchantJobKind, Key: "merchant/" + id.SenceNo, Subject: event.Subject{SenceNo: id.SenceNo},
			Payload: payload, Deadline: cs.c.Now().Add(MerchantDeadline)})
	}
	if len(ws) == 0 {
		return 0, nil
	}
	if err := cs.c.Later.DeferAll(context.WithoutCancel(ctx), ws); err != nil {
		for _, t := range ts {
			cs.c.Events.Publish(event.CouponFailed{Stamp: cs.stamp(), SenceNo: id.SenceNo, TplID: t.TplID, SerialNumber: Serial(id.SenceNo, t.TplID), Reason: "not queued: " + redact.DigitRuns(err.Error())})
		}
		return 0, fmt.Errorf("coupons of %s: %w", id.SenceNo, err)
	}
	return len(ts), nil
}

// work returns one issue job per template.
func (cs *Coupons) work(id decode.Identity, ts []Template) []Work {
	ws := make([]Work, 0, len(ts)+1)
	for _, t := range ts {
		serial := Serial(id.SenceNo, t.TplID)
		payload, _ := json.Marshal(job{TplID: t.TplID, Params: Fill(t, id, serial), Serial: serial, SenceNo: id.SenceNo})
		ws = append(ws, Work{Kind: JobKind, Key: serial, Subject: event.Subject{SenceNo: id.SenceNo, TplID: t.TplID, SerialNumber: serial},
			Payload: payload, Deadline: cs.c.Now().Add(cs.c.Deadline)})
	}
	return ws
}

// ask is a queued question to the merchant's endpoint: the one configured
// when the customer was decoded, and who.
type ask struct {
	URL      string          `json:"url"`
	Identity decode.Identity `json:"identity"`
}

// AskMerchant runs a queued question to the merchant's endpoint: it queues,
// in one commit, an issue for each template the merchant gives (one the
// local rules gave already is the same job, by its serial). A merchant that
// fails is asked again later (the error); an unreadable job is a *Failure.
func (cs *Coupons) AskMerchant(ctx context.Context, payload []byte) error {
	var a ask
	if err := json.Unmarshal(payload, &a); err != nil || a.URL == "" || a.Identity.SenceNo == "" {
		return &Failure{Reason: "unreadable queued merchant question", Err: fmt.Errorf("bad payload: %v", err)}
	}
	cs.mu.Lock()
	m := cs.merchant
	cs.mu.Unlock()
	if m == nil || m.URL != a.URL {
		m = &Merchant{URL: a.URL}
	}
	ts, err := m.Lookup(ctx, a.Identity)
	if err != nil {
		cs.c.Log.Warn("merchant coupon endpoint failed; asking again later", "sence_no", a.Identity.SenceNo, "user_id", redact.UserID(a.Identity.UserID), "err", err)
		return err
	}
	if err := cs.c.Later.DeferAll(context.WithoutCancel(ctx), cs.work(a.Identity, ts)); err != nil {
		return fmt.Errorf("merchant coupons of %s: %w", a.Identity.SenceNo, err)
	}
	return nil
}
