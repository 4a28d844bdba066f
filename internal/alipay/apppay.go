package alipay

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// MethodTradeAppPay is the method of an app-pay order string.
const MethodTradeAppPay = "alipay.trade.app.pay"

// TradeAppPayRequest is an alipay.trade.app.pay order: the merchant's app
// hands the signed order string to the Alipay app SDK, which creates and pays
// the order. Amounts are strings in yuan, as on the page, so that "9.00" is
// signed as written.
type TradeAppPayRequest struct {
	// Common parameters of the order string.
	NotifyURL string `json:"-"` // max 256, http(s): where trade_status_sync notifications go
	ReturnURL string `json:"-"` // max 256, http(s)

	TimeoutExpress      string               `json:"timeout_express,omitempty"` // 1m..15d (m, h, d) or 1c, whole numbers, max 6
	TotalAmount         string               `json:"total_amount"`              // required: yuan in [0.01, 100000000], at most two decimals
	ProductCode         string               `json:"product_code,omitempty"`    // max 64, e.g. QUICK_MSECURITY_PAY
	Body                string               `json:"body,omitempty"`            // max 128
	Subject             string               `json:"subject"`                   // required, max 256
	OutTradeNo          string               `json:"out_trade_no"`              // required, max 64
	TimeExpire          string               `json:"time_expire,omitempty"`     // "yyyy-MM-dd HH:mm", max 32
	GoodsType           string               `json:"goods_type,omitempty"`      // "0" virtual, "1" physical
	PromoParams         string               `json:"promo_params,omitempty"`    // JSON object text, max 512
	PassbackParams      string               `json:"passback_params,omitempty"` // max 512, already URL-encoded
	ExtendParams        *ExtendParams        `json:"extend_params,omitempty"`
	MerchantOrderNo     string               `json:"merchant_order_no,omitempty"`    // max 32
	EnablePayChannels   string               `json:"enable_pay_channels,omitempty"`  // comma-separated, max 128; not with DisablePayChannels
	StoreID             string               `json:"store_id,omitempty"`             // max 32
	SpecifiedChannel    string               `json:"specified_channel,omitempty"`    // only "pcredit"; not with hb_fq_* parameters
	DisablePayChannels  string               `json:"disable_pay_channels,omitempty"` // comma-separated, max 128; not with EnablePayChannels
	ExtUserInfo         *ExtUserInfo         `json:"ext_user_info,omitempty"`
	BusinessParams      string               `json:"business_params,omitempty"` // JSON object text, max 512
	AgreementSignParams *AgreementSignParams `json:"agreement_sign_params,omitempty"`
}

// ExtendParams are the order's business extensions.
type ExtendParams struct {
	SysServiceProviderID string `json:"sys_service_provider_id,omitempty"` // max 64
	HbFqNum              string `json:"hb_fq_num,omitempty"`               // Huabei instalments, digits, max 5
	HbFqSellerPercent    string `json:"hb_fq_seller_percent,omitempty"`    // 0..100, max 3
	IndustryRefluxInfo   string `json:"industry_reflux_info,omitempty"`    // JSON object text, max 512
	CardType             string `json:"card_type,omitempty"`               // max 32
}

// ExtUserInfo names the buyer who must pay.
type ExtUserInfo struct {
	Name          string `json:"name,omitempty"`            // max 16
	Mobile        string `json:"mobile,omitempty"`          // max 20
	CertType      string `json:"cert_type,omitempty"`       // max 32: IDENTITY_CARD, PASSPORT, OFFICER_CARD, SOLDIER_CARD, HOKOU…
	CertNo        string `json:"cert_no,omitempty"`         // max 64
	MinAge        string `json:"min_age,omitempty"`         // whole number >= 0, max 3
	FixBuyer      string `json:"fix_buyer,omitempty"`       // T or F
	NeedCheckInfo string `json:"need_check_info,omitempty"` // T or F
}

// AgreementSignParams signs a deduction agreement together with the payment.
type AgreementSignParams struct {
	PersonalProductCode string              `json:"personal_product_code"`           // required, max 64, e.g. CYCLE_PAY_AUTH_P
	SignScene           string              `json:"sign_scene"`                      // required, max 64
	ExternalAgreementNo string              `json:"external_agreement_no,omitempty"` // letters and digits, max 32
	ExternalLogonID     string              `json:"external_logon_id,omitempty"`     // max 100
	AccessParams        *AccessParams       `json:"access_params"`                   // required
	SubMerchant         *SignMerchantParams `json:"sub_merchant,omitempty"`
	PeriodRuleParams    *PeriodRuleParams   `json:"period_rule_params,omitempty"` // required for CYCLE_PAY_AUTH_P
}

// AccessParams says how the customer signs.
type AccessParams struct {
	Channel string `json:"channel"` // required: ALIPAYAPP, QRCODE or QRCODEORSMS
}

// SignMerchantParams names a sub-merchant of the agreement.
type SignMerchantParams struct {
	SubMerchantID                 string `json:"sub_merchant_id,omitempty"`                  // max 20
	SubMerchantName               string `json:"sub_merchant_name,omitempty"`                // max 50
	SubMerchantServiceName        string `json:"sub_merchant_service_name,omitempty"`        // max 50
	SubMerchantServiceDescription string `json:"sub_merchant_service_description,omitempty"` // max 150
}

// PeriodRuleParams are the rules of periodic deduction. The page types the
// amounts as numbers: they go out as JSON numbers, written as given.
type PeriodRuleParams struct {
	PeriodType    string      `json:"period_type"`              // required: DAY or MONTH
	Period        int         `json:"period"`                   // required, 1..99999999
	ExecuteTime   string      `json:"execute_time"`             // required "yyyy-MM-dd"; with MONTH, day <= 28
	SingleAmount  json.Number `json:"single_amount"`            // required, yuan
	TotalAmount   json.Number `json:"total_amount,omitempty"`   // yuan
	TotalPayments int         `json:"total_payments,omitempty"` // 1..99999999
}

// Personal product code of periodic deduction, which needs period rules.
const ProductCyclePayAuth = "CYCLE_PAY_AUTH_P"

// Validate checks the order against the rules of the alipay.trade.app.pay
// page, and two that the page leaves to the trade it creates, in
// alipay.trade.pay's words: out_trade_no is letters, digits and underscore
// (Alipay's rule for a merchant's trade number), and total_amount is at
// most MaxAmountLen characters. The page's own maximum length, 9, does not
// fit its range with decimals; the order string signs the amount as written,
// so "100000000.00" is refused and "100000000" taken, the form trade.pay
// writes the maximum in.
func (r TradeAppPayRequest) Validate() error {
	if err := firstProblem(
		checkURL("notify_url", r.NotifyURL),
		checkURL("return_url", r.ReturnURL),
		checkTimeoutExpress(r.TimeoutExpress),
		checkAmount("total_amount", r.TotalAmount, true),
		checkLen("total_amount", r.TotalAmount, MaxAmountLen),
		checkLen("product_code", r.ProductCode, 64),
		checkLen("body", r.Body, 128),
		checkRequired("subject", r.Subject, 256),
		checkTradeNo("out_trade_no", r.OutTradeNo),
		checkTime("time_expire", r.TimeExpire, "2006-01-02 15:04", "yyyy-MM-dd HH:mm", 32),
		checkEnum("goods_type", r.GoodsType, "0", "1"),
		checkJSONText("promo_params", r.PromoParams, 512),
		checkURLEncoded("passback_params", r.PassbackParams, 512),
		checkLen("merchant_order_no", r.MerchantOrderNo, 32),
		checkLen("enable_pay_channels", r.EnablePayChannels, 128),
		checkLen("store_id", r.StoreID, 32),
		checkLen("specified_channel", r.SpecifiedChannel, 128),
		checkEnum("specified_channel", r.SpecifiedChannel, "pcredit"),
		checkLen("disable_pay_channels", r.DisablePayChannels, 128),
		checkJSONText("business_params", r.BusinessParams, 512),
	); err != nil {
		return err
	}
	if r.EnablePayChannels != "" && r.DisablePayChannels != "" {
		return invalid("disable_pay_channels", "not together with enable_pay_channels: set one of them")
	}
	if e := r.ExtendParams; e != nil {
		if err := firstProblem(
			checkLen("extend_params.sys_service_provider_id", e.SysServiceProviderID, 64),
			checkDigits("extend_params.hb_fq_num", e.HbFqNum, 5),
			checkPercent("extend_params.hb_fq_seller_percent", e.HbFqSellerPercent),
			checkJSONText("extend_params.industry_reflux_info", e.IndustryRefluxInfo, 512),
			checkLen("extend_params.card_type", e.CardType, 32),
		); err != nil {
			return err
		}
		if r.SpecifiedChannel != "" && (e.HbFqNum != "" || e.HbFqSellerPercent != "") {
			return invalid("specified_channel", "not together with the Huabei instalment parameters extend_params.hb_fq_*")
		}
	}
	if u := r.ExtUserInfo; u != nil {
		if err := firstProblem(
			checkLen("ext_user_info.name", u.Name, 16),
			checkLen("ext_user_info.mobile", u.Mobile, 20),
			checkLen("ext_user_info.cert_type", u.CertType, 32),
			checkLen("ext_user_info.cert_no", u.CertNo, 64),
			checkDigits("ext_user_info.min_age", u.MinAge, 3),
			checkLen("ext_user_info.fix_buyer", u.FixBuyer, 8),
			checkEnum("ext_user_info.fix_buyer", u.FixBuyer, "T", "F"),
			checkEnum("ext_user_info.need_check_info", u.NeedCheckInfo, "T", "F"),
		); err != nil {
			return err
		}
	}
	if a := r.AgreementSignParams; a != nil {
		return a.validate()
	}
	return nil
}

func (a *AgreementSignParams) validate() error {
	const p = "agreement_sign_params."
	if err := firstProblem(
		checkRequired(p+"personal_product_code", a.PersonalProductCode, 64),
		checkRequired(p+"sign_scene", a.SignScene, 64),
		checkLen(p+"external_agreement_no", a.ExternalAgreementNo, 32),
		checkAlnum(p+"external_agreement_no", a.ExternalAgreementNo),
		checkLen(p+"external_logon_id", a.ExternalLogonID, 100),
	); err != nil {
		return err
	}
	if a.AccessParams == nil {
		return invalid(p+"access_params", "required")
	}
	if err := firstProblem(
		checkRequired(p+"access_params.channel", a.AccessParams.Channel, 20),
		checkEnum(p+"access_params.channel", a.AccessParams.Channel, "ALIPAYAPP", "QRCODE", "QRCODEORSMS"),
	); err != nil {
		return err
	}
	if m := a.SubMerchant; m != nil {
		if err := firstProblem(
			checkLen(p+"sub_merchant.sub_merchant_id", m.SubMerchantID, 20),
			checkLen(p+"sub_merchant.sub_merchant_name", m.SubMerchantName, 50),
			checkLen(p+"sub_merchant.sub_merchant_service_name", m.SubMerchantServiceName, 50),
			checkLen(p+"sub_merchant.sub_merchant_service_description", m.SubMerchantServiceDescription, 150),
		); err != nil {
			return err
		}
	}
	pr := a.PeriodRuleParams
	if pr == nil {
		if a.PersonalProductCode == ProductCyclePayAuth {
			return invalid(p+"period_rule_params", "required for %s", ProductCyclePayAuth)
		}
		return nil
	}
	const q = p + "period_rule_params."
	if err := firstProblem(
		checkRequired(q+"period_type", pr.PeriodType, 20),
		checkEnum(q+"period_type", pr.PeriodType, "DAY", "MONTH"),
		checkCount(q+"period", pr.Period, true),
		checkTime(q+"execute_time", pr.ExecuteTime, "2006-01-02", "yyyy-MM-dd", 16),
		checkAmount(q+"single_amount", string(pr.SingleAmount), false),
		checkLen(q+"single_amount", string(pr.SingleAmount), 32),
		checkAmount(q+"total_amount", string(pr.TotalAmount), false),
		checkLen(q+"total_amount", string(pr.TotalAmount), 32),
		checkCount(q+"total_payments", pr.TotalPayments, false),
	); err != nil {
		return err
	}
	if pr.ExecuteTime == "" {
		return invalid(q+"execute_time", "required")
	}
	if pr.SingleAmount == "" {
		return invalid(q+"single_amount", "required")
	}
	if pr.PeriodType == "MONTH" {
		// Not every month has a 29th: the page allows days up to the 28th.
		if d, _ := time.Parse("2006-01-02", pr.ExecuteTime); d.Day() > 28 {
			return invalid(q+"execute_time", "%s: with period_type MONTH the day must be at most 28", pr.ExecuteTime)
		}
	}
	return nil
}

// AppPayOrder returns the signed order string of an alipay.trade.app.pay
// order, for the merchant's app to pass to the Alipay app SDK (the SDKs call
// this sdkExecute). Nothing is sent. The string is what Alipay's own SDKs
// produce: every parameter, sign included, sorted by name, each value
// URL-encoded in the request charset the way Java's URLEncoder does it.
func (c *Client) AppPayOrder(req TradeAppPayRequest) (string, error) {
	const method = MethodTradeAppPay
	if err := req.Validate(); err != nil {
		return "", &Error{Method: method, Err: err}
	}
	biz, err := marshalBiz(req)
	if err != nil {
		return "", &Error{Method: method, Err: err}
	}
	var extra []param
	if req.NotifyURL != "" {
		extra = append(extra, param{"notify_url", req.NotifyURL})
	}
	if req.ReturnURL != "" {
		extra = append(extra, param{"return_url", req.ReturnURL})
	}
	// The order string travels through the customer's phone to Alipay; the
	// app SDK does not take content encryption, so biz_content stays plain.
	ps, err := c.signedParams(method, biz, false, extra...)
	if err != nil {
		return "", err
	}
	sortParams(ps)
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(javaURLEncode(p.v))
	}
	return b.String(), nil
}

// javaURLEncode encodes s (bytes in the request charset) as Java's
// URLEncoder.encode does: letters, digits and ".-*_" stay, space becomes
// '+', every other byte %XX.
func javaURLEncode(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) * 3 / 2)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9',
			ch == '.', ch == '-', ch == '*', ch == '_':
			b.WriteByte(ch)
		case ch == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[ch>>4])
			b.WriteByte(hex[ch&15])
		}
	}
	return b.String()
}

func checkURL(field, v string) *FieldError {
	if v == "" {
		return nil
	}
	if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
		return invalid(field, "%q: must start with http:// or https://", v)
	}
	return checkLen(field, v, 256)
}

// checkAmount checks a yuan amount: digits with at most two decimals, no
// sign or exponent, at least 0.01; total_amount also at most 100000000. The
// page gives total_amount a maximum length of 9, which its own upper bound
// with decimals ("100000000.00") does not fit: the range is what is checked.
func checkAmount(field, v string, required bool) *FieldError {
	if v == "" {
		if required {
			return invalid(field, "required")
		}
		return nil
	}
	whole, frac, dot := strings.Cut(v, ".")
	if whole == "" || !isDigits(whole) || (dot && (frac == "" || !isDigits(frac))) {
		return invalid(field, "%q is not an amount in yuan such as 9.00", v)
	}
	if len(frac) > 2 {
		return invalid(field, "%q: at most two decimals", v)
	}
	if len(whole) > 1 && whole[0] == '0' {
		return invalid(field, "%q: leading zero", v)
	}
	if len(whole) > 9 {
		return invalid(field, "%q: more than 100000000", v)
	}
	cents, _ := strconv.ParseInt(whole, 10, 64)
	cents *= 100
	if frac != "" {
		f, _ := strconv.ParseInt((frac + "0")[:2], 10, 64)
		cents += f
	}
	switch {
	case cents < 1:
		return invalid(field, "%q: at least 0.01", v)
	case required && cents > 100000000*100:
		return invalid(field, "%q: at most 100000000", v)
	}
	return nil
}

// checkTimeoutExpress: 1m..15d in minutes (m), hours (h) or days (d), whole
// numbers only, or 1c (closes at midnight).
func checkTimeoutExpress(v string) *FieldError {
	const field = "timeout_express"
	if v == "" || v == "1c" {
		return nil
	}
	if err := checkLen(field, v, 6); err != nil {
		return err
	}
	n, unit := v[:len(v)-1], v[len(v)-1]
	if strings.ContainsAny(n, ".,") {
		return invalid(field, "%q: no decimals (write 1.5h as 90m)", v)
	}
	if !isDigits(n) || n[0] == '0' {
		return invalid(field, "%q: want a whole number followed by m, h or d, or 1c", v)
	}
	x, _ := strconv.Atoi(n)
	minutes := map[byte]int{'m': 1, 'h': 60, 'd': 24 * 60}[unit]
	if minutes == 0 {
		return invalid(field, "%q: want a whole number followed by m, h or d, or 1c", v)
	}
	if x*minutes > 15*24*60 {
		return invalid(field, "%q: at most 15d", v)
	}
	return nil
}

func checkTime(field, v, layout, human string, max int) *FieldError {
	if v == "" {
		return nil
	}
	if err := checkLen(field, v, max); err != nil {
		return err
	}
	if _, err := time.Parse(layout, v); err != nil {
		return invalid(field, "%q: want %s", v, human)
	}
	return nil
}

func checkJSONText(field, v string, max int) *FieldError {
	if v == "" {
		return nil
	}
	if err := checkLen(field, v, max); err != nil {
		return err
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(v), &obj); err != nil || obj == nil {
		return invalid(field, "must be a JSON object as text")
	}
	return nil
}

// checkURLEncoded: the page says passback_params must be URL-encoded before
// it is sent; a raw '&' or '=' would not survive the notification.
func checkURLEncoded(field, v string, max int) *FieldError {
	if err := checkLen(field, v, max); err != nil {
		return err
	}
	for i := 0; i < len(v); i++ {
		ch := v[i]
		switch {
		case 'a' <= ch && ch <= 'z', 'A' <= ch && ch <= 'Z', '0' <= ch && ch <= '9',
			ch == '.', ch == '-', ch == '*', ch == '_', ch == '~', ch == '+':
		case ch == '%' && i+2 < len(v) && isHex(v[i+1]) && isHex(v[i+2]):
			i += 2
		default:
			return invalid(field, "must be URL-encoded (found %q at %d)", v[i:i+1], i)
		}
	}
	return nil
}

func checkDigits(field, v string, max int) *FieldError {
	if v == "" {
		return nil
	}
	if !isDigits(v) {
		return invalid(field, "%q: want a whole number", v)
	}
	return checkLen(field, v, max)
}

func checkPercent(field, v string) *FieldError {
	if err := checkDigits(field, v, 3); err != nil || v == "" {
		return err
	}
	if n, _ := strconv.Atoi(v); n > 100 {
		return invalid(field, "%q: a percentage from 0 to 100", v)
	}
	return nil
}

// checkCount checks a page "Number" of at most 8 digits.
func checkCount(field string, n int, required bool) *FieldError {
	switch {
	case n == 0 && required:
		return invalid(field, "required")
	case n < 0 || n > 99999999:
		return invalid(field, "%d: want 1 to 99999999", n)
	}
	return nil
}

func checkAlnum(field, v string) *FieldError {
	for i := 0; i < len(v); i++ {
		ch := v[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9') {
			return invalid(field, "%q: letters and digits only", v)
		}
	}
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
