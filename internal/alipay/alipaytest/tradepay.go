package alipaytest

import (
	"fmt"
	"regexp"

	"posagent/internal/alipay"
)

// tradeNoChars is the page's rule for out_trade_no: letters, digits and
// underscore.
var tradeNoChars = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// tradePay is alipay.trade.pay with a scanned code: the code must be one
// the server issued, unexpired, unused (a code pays once), and, when it was
// decoded, paid with the decode's sence_no in
// extend_params.DYNAMIC_TOKEN_OUT_BIZ_NO. The same out_trade_no again
// answers its trade's state and never charges twice.
func (s *Server) tradePay(obj map[string]any, bizErr error) *reply {
	const method = alipay.MethodTradePay
	fail := func(sub, detail string) *reply { return tradeFailure(method, sub, detail) }
	if bizErr != nil {
		return fail(alipay.SubTradeInvalidParameter, bizErr.Error())
	}
	fields := map[string]string{}
	for _, p := range []struct {
		name string
		max  int
	}{{"out_trade_no", 64}, {"scene", 32}, {"auth_code", 32}, {"subject", 256}, {"total_amount", 11}} {
		v, problem := bizString(obj, p.name)
		if problem != "" {
			return fail(alipay.SubTradeInvalidParameter, problem)
		}
		if n := runes(v); n > p.max {
			return fail(alipay.SubTradeInvalidParameter, fmt.Sprintf("%s is %d characters, at most %d", p.name, n, p.max))
		}
		fields[p.name] = v
	}
	if !tradeNoChars.MatchString(fields["out_trade_no"]) {
		return fail(alipay.SubTradeInvalidParameter, "out_trade_no may hold letters, digits and underscore only")
	}
	if fields["scene"] != alipay.SceneBarCode {
		return fail(alipay.SubTradeInvalidParameter, "scene must be bar_code")
	}
	if pc, ok := obj["product_code"]; ok && pc != alipay.ProductFaceToFace {
		return fail(alipay.SubTradeInvalidParameter, "product_code must be FACE_TO_FACE_PAYMENT")
	}
	fen, err := alipay.ParseYuan(fields["total_amount"])
	if err != nil {
		return fail(alipay.SubTradeInvalidParameter, err.Error())
	}
	token := ""
	if ext, ok := obj["extend_params"].(map[string]any); ok {
		token, _ = ext[alipay.ExtendDynamicTokenName].(string)
	}
	otn, code := fields["out_trade_no"], fields["auth_code"]

	s.mu.Lock()
	defer s.mu.Unlock()
	s.pay.init()
	if t, ok := s.pay.trades[otn]; ok {
		t.PayCalls++
		s.settleLocked(t)
		switch {
		case t.Status == alipay.TradeSuccess:
			return fail(alipay.SubTradeHasSuccess, "")
		case t.Status == alipay.TradeClosed:
			return fail(alipay.SubTradeHasClose, "")
		case t.authCode != code || t.AmountFen != fen:
			return fail(alipay.SubContextInconsistent, "")
		}
		return s.tradeReply(t)
	}
	c, ok := s.codes[code]
	switch {
	case !ok || c.illegal || !paymentCode.MatchString(code):
		return fail(alipay.SubAuthCodeInvalid, "")
	case !s.now().Before(c.expires):
		return fail(alipay.SubAuthCodeInvalid, "code expired")
	case s.pay.used[code] != "":
		return fail(alipay.SubAuthCodeInvalid, "code used")
	case c.senceNo != token:
		return fail(alipay.SubTradeDynamicTokenUnMatch, "")
	}
	if _, known := s.users[c.userID]; !known {
		return fail(alipay.SubAuthCodeInvalid, "")
	}
	s.pay.used[code] = otn
	p, hasPayer := s.pay.payers[c.userID]
	rule, byAmount := s.pay.byAmount[fen]
	if byAmount {
		p, hasPayer = rule.Payer, true
	}
	if hasPayer && p.Balance < fen {
		return fail(alipay.SubBuyerBalanceNotEnough, "")
	}
	s.pay.seq++
	t := &Trade{
		OutTradeNo: otn,
		TradeNo:    fmt.Sprintf("2099%s%010d", s.now().In(beijing).Format("20060102"), s.pay.seq),
		UserID:     c.userID,
		SenceNo:    token,
		Subject:    fields["subject"],
		AmountFen:  fen,
		Status:     alipay.TradeWaitBuyerPay,
		Created:    s.now(),
		PayCalls:   1,
		authCode:   code,
	}
	s.pay.trades[otn] = t
	s.pay.byTradeNo[t.TradeNo] = t
	if hasPayer && p.Confirm {
		if !p.NeverConfirm {
			t.confirmAt = s.now().Add(p.ConfirmAfter)
		}
		s.settleLocked(t)
	} else {
		s.chargeLocked(t)
	}
	rep := s.tradeReply(t)
	rep.lost = byAmount && rule.LoseAnswer
	return rep
}

// tradeReply answers a pay with the trade's state: paid (10000) or waiting
// for the buyer (10003).
func (s *Server) tradeReply(t *Trade) *reply {
	const method = alipay.MethodTradePay
	if t.Status == alipay.TradeSuccess {
		return success(method, t.payFields()...)
	}
	v := object{{"code", alipay.CodeWaitBuyerPay}, {"msg", "order success pay inprocess"}}
	return &reply{key: responseKey(method), value: append(v, t.payFields()...), signed: true}
}

// findTrade reads out_trade_no or trade_no of a query or cancel.
func (s *Server) findTrade(obj map[string]any) (t *Trade, otn string, problem string) {
	otn, _ = obj["out_trade_no"].(string)
	tn, _ := obj["trade_no"].(string)
	if otn == "" && tn == "" {
		return nil, "", "out_trade_no or trade_no is required"
	}
	if tn != "" {
		return s.pay.byTradeNo[tn], otn, ""
	}
	return s.pay.trades[otn], otn, ""
}

// tradeQuery is alipay.trade.query.
func (s *Server) tradeQuery(obj map[string]any, bizErr error) *reply {
	const method = alipay.MethodTradeQuery
	if bizErr != nil {
		return tradeFailure(method, alipay.SubTradeInvalidParameter, bizErr.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pay.init()
	t, _, problem := s.findTrade(obj)
	switch {
	case problem != "":
		return tradeFailure(method, alipay.SubTradeInvalidParameter, problem)
	case t == nil || t.TradeNo == "":
		return tradeFailure(method, alipay.SubTradeNotExist, "")
	}
	s.settleLocked(t)
	fields := append(t.payFields(), field{"trade_status", t.Status})
	if !t.PaidAt.IsZero() {
		fields = append(fields, field{"send_pay_date", t.PaidAt.In(beijing).Format(timestampLayout)})
	}
	return success(method, fields...)
}

// tradeCancel is alipay.trade.cancel: an unpaid trade is closed, a paid one
// refunded, an unknown one closed before it exists (a pay arriving late
// finds it closed). Cancelling again repeats the answer.
func (s *Server) tradeCancel(obj map[string]any, bizErr error) *reply {
	const method = alipay.MethodTradeCancel
	if bizErr != nil {
		return tradeFailure(method, alipay.SubTradeInvalidParameter, bizErr.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pay.init()
	t, otn, problem := s.findTrade(obj)
	if problem != "" {
		return tradeFailure(method, alipay.SubTradeInvalidParameter, problem)
	}
	if s.pay.cancelRetry > 0 {
		s.pay.cancelRetry--
		return success(method, field{"out_trade_no", otn}, field{"retry_flag", "Y"})
	}
	if t == nil {
		if otn == "" {
			return tradeFailure(method, alipay.SubTradeNotExist, "")
		}
		// Closed before it existed: no trade_no, nobody charged.
		s.pay.trades[otn] = &Trade{OutTradeNo: otn, Status: alipay.TradeClosed, Created: s.now(), CancelCalls: 1}
		return success(method, field{"out_trade_no", otn}, field{"retry_flag", "N"}, field{"action", ""})
	}
	t.CancelCalls++
	s.settleLocked(t)
	action := alipay.CancelActionClose
	switch {
	case t.Status == alipay.TradeSuccess:
		t.Refunded = true
		if p, ok := s.pay.payers[t.UserID]; ok {
			p.Balance += t.AmountFen
			s.pay.payers[t.UserID] = p
		}
		t.Status = alipay.TradeClosed
		action = alipay.CancelActionRefund
	case t.Refunded:
		action = alipay.CancelActionRefund
	default:
		t.Status = alipay.TradeClosed
	}
	fs := []field{{"out_trade_no", t.OutTradeNo}}
	if t.TradeNo != "" {
		fs = append(fs, field{"trade_no", t.TradeNo})
	}
	return success(method, append(fs, field{"retry_flag", "N"}, field{"action", action})...)
}
