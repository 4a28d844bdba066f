package alipaytest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"

	"golang.org/x/text/encoding/simplifiedchinese"

	"posagent/internal/alipay"
)

// Notify makes the form body of a trade_status_sync notification, the POST
// Alipay sends to an app-pay order's notify_url, signed with the server's
// current Alipay key. fields holds the trade's fields (out_trade_no,
// trade_no, total_amount, trade_status, fund_bill_list, ...); notify_time,
// notify_type, notify_id, app_id, charset, version and sign_type are filled
// in when absent. charset is "utf-8" or "GBK": the values are encoded in it
// before they are signed and percent-encoded, as Alipay does. sign and
// sign_type are left out of the signed string, as for every notification.
func (s *Server) Notify(fields map[string]string, charset string) ([]byte, error) {
	cs, ok := charsetOf(charset)
	if !ok {
		return nil, fmt.Errorf("alipaytest: notify charset %q: want utf-8 or GBK", charset)
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("alipaytest: notify id: %w", err)
	}
	all := map[string]string{
		"notify_time": s.now().In(beijing).Format(timestampLayout),
		"notify_type": "trade_status_sync",
		"notify_id":   hex.EncodeToString(id),
		"app_id":      s.appID,
		"auth_app_id": s.appID,
		"charset":     cs,
		"version":     "1.0",
		"sign_type":   string(s.signType),
	}
	raw := map[string]string{}
	for k, v := range fields {
		all[k] = v
	}
	for k, v := range all {
		if cs == "GBK" {
			e, err := simplifiedchinese.GBK.NewEncoder().String(v)
			if err != nil {
				return nil, fmt.Errorf("alipaytest: notify %s: not GBK: %w", k, err)
			}
			v = e
		}
		raw[k] = v
	}
	delete(raw, "sign")
	s.mu.Lock()
	key := s.alipayKey
	s.mu.Unlock()
	sig, err := alipay.Sign([]byte(alipay.CanonicalString(raw, "sign", "sign_type")), key, s.signType)
	if err != nil {
		return nil, fmt.Errorf("alipaytest: notify: %w", err)
	}
	form := url.Values{}
	for k, v := range raw {
		form.Set(k, v)
	}
	form.Set("sign", sig)
	return []byte(form.Encode()), nil
}
