package alipay

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// NotifyTradeStatusSync is the notify_type of app-pay notifications, and the
// Method of the *Error that VerifyNotification returns.
const NotifyTradeStatusSync = "trade_status_sync"

// Trade statuses of a trade_status_sync notification.
const (
	TradeWaitBuyerPay = "WAIT_BUYER_PAY"
	TradeClosed       = "TRADE_CLOSED"
	TradeSuccess      = "TRADE_SUCCESS"
	TradeFinished     = "TRADE_FINISHED"
)

// TradeNotification is a verified trade_status_sync notification. Every value
// is the string Alipay sent (in UTF-8): amounts are not parsed and
// fund_bill_list and voucher_detail_list are the JSON texts as received, so
// nothing is lost or re-rendered on the way.
type TradeNotification struct {
	NotifyType        string
	NotifyID          string
	NotifyTime        string
	Charset           string
	Version           string
	SignType          string
	AppID             string
	AuthAppID         string
	TradeNo           string
	OutTradeNo        string
	OutBizNo          string
	BuyerID           string
	BuyerLogonID      string
	SellerID          string
	SellerEmail       string
	TradeStatus       string
	TotalAmount       string
	ReceiptAmount     string
	InvoiceAmount     string
	BuyerPayAmount    string
	PointAmount       string
	RefundFee         string
	Subject           string
	Body              string
	GmtCreate         string
	GmtPayment        string
	GmtRefund         string
	GmtClose          string
	FundBillList      string
	VoucherDetailList string
	PassbackParams    string
	OutChannelType    string
	MdiscountAmount   string
	DiscountAmount    string
	ChargeAmount      string
	ChargeFlags       string
	SettlementID      string

	// Params holds every parameter received, including those above and any
	// the page does not list.
	Params map[string]string
}

func (n *TradeNotification) fields() []struct {
	name string
	dst  *string
} {
	return []struct {
		name string
		dst  *string
	}{
		{"notify_type", &n.NotifyType}, {"notify_id", &n.NotifyID}, {"notify_time", &n.NotifyTime},
		{"charset", &n.Charset}, {"version", &n.Version}, {"sign_type", &n.SignType},
		{"app_id", &n.AppID}, {"auth_app_id", &n.AuthAppID}, {"trade_no", &n.TradeNo},
		{"out_trade_no", &n.OutTradeNo}, {"out_biz_no", &n.OutBizNo}, {"buyer_id", &n.BuyerID},
		{"buyer_logon_id", &n.BuyerLogonID}, {"seller_id", &n.SellerID}, {"seller_email", &n.SellerEmail},
		{"trade_status", &n.TradeStatus}, {"total_amount", &n.TotalAmount}, {"receipt_amount", &n.ReceiptAmount},
		{"invoice_amount", &n.InvoiceAmount}, {"buyer_pay_amount", &n.BuyerPayAmount}, {"point_amount", &n.PointAmount},
		{"refund_fee", &n.RefundFee}, {"subject", &n.Subject}, {"body", &n.Body},
		{"gmt_create", &n.GmtCreate}, {"gmt_payment", &n.GmtPayment}, {"gmt_refund", &n.GmtRefund},
		{"gmt_close", &n.GmtClose}, {"fund_bill_list", &n.FundBillList}, {"voucher_detail_list", &n.VoucherDetailList},
		{"passback_params", &n.PassbackParams}, {"out_channel_type", &n.OutChannelType},
		{"mdiscount_amount", &n.MdiscountAmount}, {"discount_amount", &n.DiscountAmount},
		{"charge_amount", &n.ChargeAmount}, {"charge_flags", &n.ChargeFlags}, {"settlement_id", &n.SettlementID},
	}
}

// VerifyNotification verifies a trade_status_sync notification (the
// url-encoded form body Alipay POSTs to notify_url) and returns it. The
// signature covers every parameter but sign and sign_type, empty ones left
// out, sorted, over the bytes as received: in GBK for a GBK notification,
// which is transcoded only afterwards. A notification for another app_id is
// refused even when Alipay signed it. In certificate mode it is verified
// with an Alipay certificate already known: the alipay_cert_sn it names is
// anyone's word, so an unknown one is an error naming it, never a fetch.
func (c *Client) VerifyNotification(body []byte) (*TradeNotification, error) {
	fail := func(err error) error { return &Error{Method: NotifyTradeStatusSync, Err: err} }
	params, err := parseNotifyForm(body)
	if err != nil {
		return nil, fail(fmt.Errorf("%w: %v", ErrMalformed, err))
	}
	sig := params["sign"]
	if sig == "" {
		return nil, fail(ErrUnsigned)
	}
	st := SignType(params["sign_type"])
	if st == "" {
		st = c.signType
	}
	if st != c.signType {
		return nil, fail(fmt.Errorf("%w: sign_type %q, the application uses %s", ErrSignature, st, c.signType))
	}
	gbk := c.gbk
	switch strings.ToLower(params["charset"]) {
	case "":
	case "utf-8", "utf8":
		gbk = false
	case "gbk", "gb2312":
		gbk = true
	default:
		return nil, fail(fmt.Errorf("%w: charset %q", ErrMalformed, params["charset"]))
	}
	key, err := c.knownKey(params["alipay_cert_sn"])
	if err != nil {
		return nil, fail(err)
	}
	if err := Verify([]byte(CanonicalString(params, "sign", "sign_type")), sig, key, st); err != nil {
		return nil, fail(err)
	}
	if gbk {
		for k, v := range params {
			u, err := fromGBK([]byte(v))
			if err != nil {
				return nil, fail(fmt.Errorf("%w: %s: %v", ErrMalformed, k, err))
			}
			params[k] = string(u)
		}
	}
	if params["app_id"] != c.appID {
		return nil, fail(fmt.Errorf("app_id %q is not this application's (%s)", params["app_id"], c.appID))
	}
	n := &TradeNotification{Params: params}
	for _, f := range n.fields() {
		*f.dst = params[f.name]
	}
	return n, nil
}

// parseNotifyForm parses a url-encoded form once, keeping each value as the
// exact bytes sent. '+' means space except in sign: base64 has '+' and never
// a space, and senders that forget to encode it are common, so a raw '+'
// there stays '+' (an encoded one arrives as %2B either way), and a space
// there is read as the '+' it was. A repeated
// parameter is an error: there would be no telling which one was signed.
func parseNotifyForm(body []byte) (map[string]string, error) {
	body = bytes.TrimRight(body, "\r\n")
	if len(body) == 0 {
		return nil, errors.New("empty body")
	}
	params := map[string]string{}
	for _, pair := range strings.Split(string(body), "&") {
		if pair == "" {
			continue
		}
		rawKey, rawVal, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(rawKey)
		if err != nil {
			return nil, fmt.Errorf("parameter name %q: %v", rawKey, err)
		}
		if k == "" {
			return nil, errors.New("a parameter without a name")
		}
		var v string
		if k == "sign" {
			// A space can only be a '+' some relay turned into one.
			v, err = url.PathUnescape(rawVal)
			v = strings.ReplaceAll(v, " ", "+")
		} else {
			v, err = url.QueryUnescape(rawVal)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
		if _, dup := params[k]; dup {
			return nil, fmt.Errorf("%s twice", k)
		}
		params[k] = v
	}
	return params, nil
}
