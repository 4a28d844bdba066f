package alipay

import (
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// pageAppPay is the page's example order, without the parameters the page
// itself marks exclusive (disable_pay_channels beside enable_pay_channels,
// specified_channel beside hb_fq_*).
func pageAppPay() TradeAppPayRequest {
	return TradeAppPayRequest{
		NotifyURL:      "http://api.test.alipay.net/atinterface/receive_notify.htm",
		TimeoutExpress: "90m",
		TotalAmount:    "9.00",
		ProductCode:    "QUICK_MSECURITY_PAY",
		Body:           "Iphone6 16G",
		Subject:        "大乐透",
		OutTradeNo:     "70501111111S001111119",
		TimeExpire:     "2016-12-31 10:05",
		GoodsType:      "0",
		PromoParams:    `{"storeIdType":"1"}`,
		PassbackParams: "merchantBizType%3d3C%26merchantBizNo%3d2016010101111",
		ExtendParams: &ExtendParams{
			SysServiceProviderID: "2088511833207846",
			HbFqNum:              "3",
			HbFqSellerPercent:    "100",
			IndustryRefluxInfo:   `{"scene_code":"metro_tradeorder","channel":"xxxx","scene_data":{"asset_name":"ALIPAY"}}`,
			CardType:             "S0JP0000",
		},
		MerchantOrderNo:   "20161008001",
		EnablePayChannels: "pcredit,moneyFund,debitCardExpress",
		StoreID:           "NJ_001",
		ExtUserInfo: &ExtUserInfo{
			Name: "李明", Mobile: "16587658765", CertType: "IDENTITY_CARD", CertNo: "362334768769238881",
			MinAge: "18", FixBuyer: "F", NeedCheckInfo: "F",
		},
		BusinessParams: `{"data":"123"}`,
		AgreementSignParams: &AgreementSignParams{
			PersonalProductCode: "CYCLE_PAY_AUTH_P",
			SignScene:           "INDUSTRY|DIGITAL_MEDIA",
			ExternalAgreementNo: "test20190701",
			ExternalLogonID:     "13852852877",
			AccessParams:        &AccessParams{Channel: "ALIPAYAPP"},
			SubMerchant: &SignMerchantParams{
				SubMerchantID: "2088123412341234", SubMerchantName: "滴滴出行",
				SubMerchantServiceName: "滴滴出行免密支付", SubMerchantServiceDescription: "免密付车费,单次最高500",
			},
			PeriodRuleParams: &PeriodRuleParams{
				PeriodType: "DAY", Period: 3, ExecuteTime: "2019-01-23",
				SingleAmount: "10.99", TotalAmount: "600", TotalPayments: 12,
			},
		},
	}
}

// decodeOrder splits an order string the way the Alipay app SDK reads it and
// checks that the pairs are sorted by name.
func decodeOrder(t *testing.T, order string) (url.Values, []string) {
	t.Helper()
	var names []string
	for _, pair := range strings.Split(order, "&") {
		k, _, _ := strings.Cut(pair, "=")
		names = append(names, k)
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("parameters not sorted: %v", names)
	}
	v, err := url.ParseQuery(order)
	if err != nil {
		t.Fatal(err)
	}
	return v, names
}

func TestAppPayOrder(t *testing.T) {
	g := newTestGateway(t)
	c := g.client()
	order, err := c.AppPayOrder(pageAppPay())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(g.requests()); n != 0 {
		t.Fatalf("AppPayOrder sent %d requests", n)
	}
	v, names := decodeOrder(t, order)
	want := []string{"app_id", "biz_content", "charset", "format", "method", "notify_url", "sign", "sign_type", "timestamp", "version"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("parameters %v, want %v", names, want)
	}
	params := map[string]string{}
	for k := range v {
		params[k] = v.Get(k)
	}
	if err := Verify([]byte(CanonicalString(params, "sign")), params["sign"], &testAppKey(t).PublicKey, RSA2); err != nil {
		t.Fatalf("order signature: %v", err)
	}
	if params["method"] != MethodTradeAppPay || params["timestamp"] != "2014-07-24 03:07:50" || params["notify_url"] != "http://api.test.alipay.net/atinterface/receive_notify.htm" {
		t.Errorf("common parameters %v", params)
	}
	// The biz_content is the order as JSON, written once, numbers of
	// period_rule_params as numbers.
	var biz map[string]any
	if err := json.Unmarshal([]byte(params["biz_content"]), &biz); err != nil {
		t.Fatal(err)
	}
	if biz["subject"] != "大乐透" || biz["total_amount"] != "9.00" || biz["passback_params"] != "merchantBizType%3d3C%26merchantBizNo%3d2016010101111" {
		t.Errorf("biz_content %s", params["biz_content"])
	}
	if !strings.Contains(params["biz_content"], `"single_amount":10.99,"total_amount":600,"total_payments":12`) {
		t.Errorf("period_rule_params amounts are not JSON numbers as written: %s", params["biz_content"])
	}
	// Java's URLEncoder: space as '+', '*' kept, '~' and '/' encoded,
	// upper-case hex.
	for _, s := range []string{"timestamp=2014-07-24+03%3A07%3A50", "notify_url=http%3A%2F%2Fapi.test.alipay.net%2Fatinterface%2Freceive_notify.htm", "%E5%A4%A7%E4%B9%90%E9%80%8F"} {
		if !strings.Contains(order, s) {
			t.Errorf("order string lacks %q", s)
		}
	}
	if got := javaURLEncode("a*b~c d/é"); got != "a*b%7Ec+d%2F%C3%A9" {
		t.Errorf("javaURLEncode = %q", got)
	}
}

func TestAppPayOrderGBK(t *testing.T) {
	g := newTestGateway(t)
	c := g.client(func(c *Config) { c.Charset = "GBK" })
	req := TradeAppPayRequest{TotalAmount: "0.01", Subject: "大乐透", OutTradeNo: "1"}
	order, err := c.AppPayOrder(req)
	if err != nil {
		t.Fatal(err)
	}
	gbk, _ := simplifiedchinese.GBK.NewEncoder().String("大乐透")
	if !strings.Contains(order, javaURLEncode(gbk)) || !strings.Contains(order, "charset=GBK") {
		t.Fatalf("subject not GBK-encoded in %s", order)
	}
	v, _ := decodeOrder(t, order)
	params := map[string]string{}
	for k := range v {
		params[k] = v.Get(k) // GBK bytes
	}
	if err := Verify([]byte(CanonicalString(params, "sign")), params["sign"], &testAppKey(t).PublicKey, RSA2); err != nil {
		t.Fatalf("order signature over GBK bytes: %v", err)
	}
}

// TestAppPayLimits checks every rule of the alipay.trade.app.pay page.
func TestAppPayLimits(t *testing.T) {
	g := newTestGateway(t)
	c := g.client()
	s := func(n int) string { return strings.Repeat("a", n) }
	han := func(n int) string { return strings.Repeat("李", n) }
	const asp = "agreement_sign_params."
	const prp = asp + "period_rule_params."
	tests := []struct {
		name  string
		mod   func(r *TradeAppPayRequest)
		field string
	}{
		{"page example", func(*TradeAppPayRequest) {}, ""},
		{"minimal", func(r *TradeAppPayRequest) {
			*r = TradeAppPayRequest{TotalAmount: "9.00", Subject: "大乐透", OutTradeNo: "1"}
		}, ""},

		{"notify_url not http", func(r *TradeAppPayRequest) { r.NotifyURL = "ftp://x" }, "notify_url"},
		{"notify_url 257", func(r *TradeAppPayRequest) { r.NotifyURL = "https://" + s(249) }, "notify_url"},
		{"notify_url 256", func(r *TradeAppPayRequest) { r.NotifyURL = "https://" + s(248) }, ""},
		{"return_url not http", func(r *TradeAppPayRequest) { r.ReturnURL = "m.alipay.com" }, "return_url"},
		{"return_url https", func(r *TradeAppPayRequest) { r.ReturnURL = "https://m.alipay.com/Gk8NF23" }, ""},

		{"total_amount missing", func(r *TradeAppPayRequest) { r.TotalAmount = "" }, "total_amount"},
		{"total_amount 0.01", func(r *TradeAppPayRequest) { r.TotalAmount = "0.01" }, ""},
		{"total_amount 0.1", func(r *TradeAppPayRequest) { r.TotalAmount = "0.1" }, ""},
		{"total_amount 9", func(r *TradeAppPayRequest) { r.TotalAmount = "9" }, ""},
		{"total_amount 0.00", func(r *TradeAppPayRequest) { r.TotalAmount = "0.00" }, "total_amount"},
		{"total_amount 0.001", func(r *TradeAppPayRequest) { r.TotalAmount = "0.001" }, "total_amount"},
		{"total_amount 9.999", func(r *TradeAppPayRequest) { r.TotalAmount = "9.999" }, "total_amount"},
		{"total_amount 100000000", func(r *TradeAppPayRequest) { r.TotalAmount = "100000000" }, ""},
		{"total_amount 99999999.99", func(r *TradeAppPayRequest) { r.TotalAmount = "99999999.99" }, ""},
		{"total_amount 100000000.00", func(r *TradeAppPayRequest) { r.TotalAmount = "100000000.00" }, "total_amount"},
		{"total_amount 100000000.0", func(r *TradeAppPayRequest) { r.TotalAmount = "100000000.0" }, ""},
		{"total_amount 100000000.01", func(r *TradeAppPayRequest) { r.TotalAmount = "100000000.01" }, "total_amount"},
		{"total_amount 1000000000", func(r *TradeAppPayRequest) { r.TotalAmount = "1000000000" }, "total_amount"},
		{"total_amount negative", func(r *TradeAppPayRequest) { r.TotalAmount = "-1.00" }, "total_amount"},
		{"total_amount exponent", func(r *TradeAppPayRequest) { r.TotalAmount = "1e2" }, "total_amount"},
		{"total_amount comma", func(r *TradeAppPayRequest) { r.TotalAmount = "9,00" }, "total_amount"},
		{"total_amount dot only", func(r *TradeAppPayRequest) { r.TotalAmount = "9." }, "total_amount"},
		{"total_amount leading dot", func(r *TradeAppPayRequest) { r.TotalAmount = ".5" }, "total_amount"},
		{"total_amount leading zero", func(r *TradeAppPayRequest) { r.TotalAmount = "09.00" }, "total_amount"},
		{"total_amount space", func(r *TradeAppPayRequest) { r.TotalAmount = " 9.00" }, "total_amount"},

		{"timeout_express 1m", func(r *TradeAppPayRequest) { r.TimeoutExpress = "1m" }, ""},
		{"timeout_express 15d", func(r *TradeAppPayRequest) { r.TimeoutExpress = "15d" }, ""},
		{"timeout_express 360h", func(r *TradeAppPayRequest) { r.TimeoutExpress = "360h" }, ""},
		{"timeout_express 21600m", func(r *TradeAppPayRequest) { r.TimeoutExpress = "21600m" }, ""},
		{"timeout_express 1c", func(r *TradeAppPayRequest) { r.TimeoutExpress = "1c" }, ""},
		{"timeout_express 16d", func(r *TradeAppPayRequest) { r.TimeoutExpress = "16d" }, "timeout_express"},
		{"timeout_express 361h", func(r *TradeAppPayRequest) { r.TimeoutExpress = "361h" }, "timeout_express"},
		{"timeout_express 21601m", func(r *TradeAppPayRequest) { r.TimeoutExpress = "21601m" }, "timeout_express"},
		{"timeout_express 0m", func(r *TradeAppPayRequest) { r.TimeoutExpress = "0m" }, "timeout_express"},
		{"timeout_express 1.5h", func(r *TradeAppPayRequest) { r.TimeoutExpress = "1.5h" }, "timeout_express"},
		{"timeout_express 2c", func(r *TradeAppPayRequest) { r.TimeoutExpress = "2c" }, "timeout_express"},
		{"timeout_express 90s", func(r *TradeAppPayRequest) { r.TimeoutExpress = "90s" }, "timeout_express"},
		{"timeout_express m", func(r *TradeAppPayRequest) { r.TimeoutExpress = "m" }, "timeout_express"},
		{"timeout_express 7 chars", func(r *TradeAppPayRequest) { r.TimeoutExpress = "000001d" }, "timeout_express"},

		{"product_code 65", func(r *TradeAppPayRequest) { r.ProductCode = s(65) }, "product_code"},
		{"body 128", func(r *TradeAppPayRequest) { r.Body = han(128) }, ""},
		{"body 129", func(r *TradeAppPayRequest) { r.Body = han(129) }, "body"},
		{"subject missing", func(r *TradeAppPayRequest) { r.Subject = "" }, "subject"},
		{"subject 256", func(r *TradeAppPayRequest) { r.Subject = han(256) }, ""},
		{"subject 257", func(r *TradeAppPayRequest) { r.Subject = han(257) }, "subject"},
		{"out_trade_no missing", func(r *TradeAppPayRequest) { r.OutTradeNo = "" }, "out_trade_no"},
		{"out_trade_no 65", func(r *TradeAppPayRequest) { r.OutTradeNo = s(65) }, "out_trade_no"},
		{"out_trade_no 64", func(r *TradeAppPayRequest) { r.OutTradeNo = s(63) + "_" }, ""},
		{"out_trade_no hyphen", func(r *TradeAppPayRequest) { r.OutTradeNo = "APP-0001" }, "out_trade_no"},
		{"out_trade_no slash", func(r *TradeAppPayRequest) { r.OutTradeNo = "A/B" }, "out_trade_no"},
		{"out_trade_no han", func(r *TradeAppPayRequest) { r.OutTradeNo = "销售单1" }, "out_trade_no"},
		{"out_trade_no space", func(r *TradeAppPayRequest) { r.OutTradeNo = "A 1" }, "out_trade_no"},
		{"time_expire format", func(r *TradeAppPayRequest) { r.TimeExpire = "2016-12-31 10:05:00" }, "time_expire"},
		{"time_expire date only", func(r *TradeAppPayRequest) { r.TimeExpire = "2016-12-31" }, "time_expire"},
		{"goods_type 2", func(r *TradeAppPayRequest) { r.GoodsType = "2" }, "goods_type"},
		{"goods_type 1", func(r *TradeAppPayRequest) { r.GoodsType = "1" }, ""},
		{"promo_params not JSON", func(r *TradeAppPayRequest) { r.PromoParams = "storeIdType=1" }, "promo_params"},
		{"promo_params 513", func(r *TradeAppPayRequest) { r.PromoParams = `{"a":"` + s(505) + `"}` }, "promo_params"},
		{"passback_params raw", func(r *TradeAppPayRequest) { r.PassbackParams = "merchantBizType=3C&merchantBizNo=1" }, "passback_params"},
		{"passback_params bad escape", func(r *TradeAppPayRequest) { r.PassbackParams = "a%2" }, "passback_params"},
		{"passback_params 513", func(r *TradeAppPayRequest) { r.PassbackParams = s(513) }, "passback_params"},
		{"merchant_order_no 33", func(r *TradeAppPayRequest) { r.MerchantOrderNo = s(33) }, "merchant_order_no"},
		{"enable_pay_channels 129", func(r *TradeAppPayRequest) { r.EnablePayChannels = s(129) }, "enable_pay_channels"},
		{"enable and disable", func(r *TradeAppPayRequest) { r.DisablePayChannels = "pcredit" }, "disable_pay_channels"},
		{"disable only", func(r *TradeAppPayRequest) { r.EnablePayChannels, r.DisablePayChannels = "", "pcredit,moneyFund" }, ""},
		{"disable_pay_channels 129", func(r *TradeAppPayRequest) { r.EnablePayChannels, r.DisablePayChannels = "", s(129) }, "disable_pay_channels"},
		{"store_id 33", func(r *TradeAppPayRequest) { r.StoreID = s(33) }, "store_id"},
		{"specified_channel other", func(r *TradeAppPayRequest) { r.ExtendParams = nil; r.SpecifiedChannel = "moneyFund" }, "specified_channel"},
		{"specified_channel pcredit", func(r *TradeAppPayRequest) { r.ExtendParams = nil; r.SpecifiedChannel = "pcredit" }, ""},
		{"specified_channel with hb_fq_num", func(r *TradeAppPayRequest) { r.SpecifiedChannel = "pcredit" }, "specified_channel"},
		{"specified_channel with hb_fq_seller_percent", func(r *TradeAppPayRequest) {
			r.SpecifiedChannel = "pcredit"
			r.ExtendParams = &ExtendParams{HbFqSellerPercent: "100"}
		}, "specified_channel"},
		{"business_params not JSON", func(r *TradeAppPayRequest) { r.BusinessParams = "data" }, "business_params"},
		{"business_params 513", func(r *TradeAppPayRequest) { r.BusinessParams = `{"a":"` + s(505) + `"}` }, "business_params"},

		{"sys_service_provider_id 65", func(r *TradeAppPayRequest) { r.ExtendParams.SysServiceProviderID = s(65) }, "extend_params.sys_service_provider_id"},
		{"hb_fq_num letters", func(r *TradeAppPayRequest) { r.ExtendParams.HbFqNum = "three" }, "extend_params.hb_fq_num"},
		{"hb_fq_num 6 digits", func(r *TradeAppPayRequest) { r.ExtendParams.HbFqNum = "123456" }, "extend_params.hb_fq_num"},
		{"hb_fq_seller_percent 101", func(r *TradeAppPayRequest) { r.ExtendParams.HbFqSellerPercent = "101" }, "extend_params.hb_fq_seller_percent"},
		{"hb_fq_seller_percent 0", func(r *TradeAppPayRequest) { r.ExtendParams.HbFqSellerPercent = "0" }, ""},
		{"industry_reflux_info not JSON", func(r *TradeAppPayRequest) { r.ExtendParams.IndustryRefluxInfo = "metro" }, "extend_params.industry_reflux_info"},
		{"card_type 33", func(r *TradeAppPayRequest) { r.ExtendParams.CardType = s(33) }, "extend_params.card_type"},

		{"ext_user_info.name 16", func(r *TradeAppPayRequest) { r.ExtUserInfo.Name = han(16) }, ""},
		{"ext_user_info.name 17", func(r *TradeAppPayRequest) { r.ExtUserInfo.Name = han(17) }, "ext_user_info.name"},
		{"ext_user_info.mobile 21", func(r *TradeAppPayRequest) { r.ExtUserInfo.Mobile = s(21) }, "ext_user_info.mobile"},
		{"ext_user_info.cert_type 33", func(r *TradeAppPayRequest) { r.ExtUserInfo.CertType = s(33) }, "ext_user_info.cert_type"},
		{"ext_user_info.cert_no 65", func(r *TradeAppPayRequest) { r.ExtUserInfo.CertNo = s(65) }, "ext_user_info.cert_no"},
		{"ext_user_info.min_age -1", func(r *TradeAppPayRequest) { r.ExtUserInfo.MinAge = "-1" }, "ext_user_info.min_age"},
		{"ext_user_info.min_age 1000", func(r *TradeAppPayRequest) { r.ExtUserInfo.MinAge = "1000" }, "ext_user_info.min_age"},
		{"ext_user_info.min_age 0", func(r *TradeAppPayRequest) { r.ExtUserInfo.MinAge = "0" }, ""},
		{"ext_user_info.fix_buyer Y", func(r *TradeAppPayRequest) { r.ExtUserInfo.FixBuyer = "Y" }, "ext_user_info.fix_buyer"},
		{"ext_user_info.fix_buyer T", func(r *TradeAppPayRequest) { r.ExtUserInfo.FixBuyer = "T" }, ""},
		{"ext_user_info.need_check_info TT", func(r *TradeAppPayRequest) { r.ExtUserInfo.NeedCheckInfo = "TT" }, "ext_user_info.need_check_info"},

		{"personal_product_code missing", func(r *TradeAppPayRequest) { r.AgreementSignParams.PersonalProductCode = "" }, asp + "personal_product_code"},
		{"personal_product_code 65", func(r *TradeAppPayRequest) { r.AgreementSignParams.PersonalProductCode = s(65) }, asp + "personal_product_code"},
		{"sign_scene missing", func(r *TradeAppPayRequest) { r.AgreementSignParams.SignScene = "" }, asp + "sign_scene"},
		{"sign_scene 65", func(r *TradeAppPayRequest) { r.AgreementSignParams.SignScene = s(65) }, asp + "sign_scene"},
		{"external_agreement_no 33", func(r *TradeAppPayRequest) { r.AgreementSignParams.ExternalAgreementNo = s(33) }, asp + "external_agreement_no"},
		{"external_agreement_no dash", func(r *TradeAppPayRequest) { r.AgreementSignParams.ExternalAgreementNo = "test-2019" }, asp + "external_agreement_no"},
		{"external_logon_id 101", func(r *TradeAppPayRequest) { r.AgreementSignParams.ExternalLogonID = s(101) }, asp + "external_logon_id"},
		{"access_params missing", func(r *TradeAppPayRequest) { r.AgreementSignParams.AccessParams = nil }, asp + "access_params"},
		{"channel missing", func(r *TradeAppPayRequest) { r.AgreementSignParams.AccessParams.Channel = "" }, asp + "access_params.channel"},
		{"channel unknown", func(r *TradeAppPayRequest) { r.AgreementSignParams.AccessParams.Channel = "SMS" }, asp + "access_params.channel"},
		{"channel QRCODEORSMS", func(r *TradeAppPayRequest) { r.AgreementSignParams.AccessParams.Channel = "QRCODEORSMS" }, ""},
		{"sub_merchant_id 21", func(r *TradeAppPayRequest) { r.AgreementSignParams.SubMerchant.SubMerchantID = s(21) }, asp + "sub_merchant.sub_merchant_id"},
		{"sub_merchant_name 51", func(r *TradeAppPayRequest) { r.AgreementSignParams.SubMerchant.SubMerchantName = han(51) }, asp + "sub_merchant.sub_merchant_name"},
		{"sub_merchant_service_name 51", func(r *TradeAppPayRequest) { r.AgreementSignParams.SubMerchant.SubMerchantServiceName = han(51) }, asp + "sub_merchant.sub_merchant_service_name"},
		{"sub_merchant_service_description 151", func(r *TradeAppPayRequest) {
			r.AgreementSignParams.SubMerchant.SubMerchantServiceDescription = han(151)
		}, asp + "sub_merchant.sub_merchant_service_description"},
		{"period rules missing for CYCLE_PAY_AUTH_P", func(r *TradeAppPayRequest) { r.AgreementSignParams.PeriodRuleParams = nil }, asp + "period_rule_params"},
		{"period rules optional otherwise", func(r *TradeAppPayRequest) {
			r.AgreementSignParams.PersonalProductCode = "GENERAL_WITHHOLDING_P"
			r.AgreementSignParams.PeriodRuleParams = nil
		}, ""},
		{"period_type missing", func(r *TradeAppPayRequest) { r.AgreementSignParams.PeriodRuleParams.PeriodType = "" }, prp + "period_type"},
		{"period_type WEEK", func(r *TradeAppPayRequest) { r.AgreementSignParams.PeriodRuleParams.PeriodType = "WEEK" }, prp + "period_type"},
		{"period missing", func(r *TradeAppPayRequest) { r.AgreementSignParams.PeriodRuleParams.Period = 0 }, prp + "period"},
		{"period 9 digits", func(r *TradeAppPayRequest) { r.AgreementSignParams.PeriodRuleParams.Period = 100000000 }, prp + "period"},
		{"execute_time missing", func(r *TradeAppPayRequest) { r.AgreementSignParams.PeriodRuleParams.ExecuteTime = "" }, prp + "execute_time"},
		{"execute_time format", func(r *TradeAppPayRequest) { r.AgreementSignParams.PeriodRuleParams.ExecuteTime = "2019/01/23" }, prp + "execute_time"},
		{"MONTH on the 28th", func(r *TradeAppPayRequest) {
			p := r.AgreementSignParams.PeriodRuleParams
			p.PeriodType, p.ExecuteTime = "MONTH", "2019-01-28"
		}, ""},
		{"MONTH on the 29th", func(r *TradeAppPayRequest) {
			p := r.AgreementSignParams.PeriodRuleParams
			p.PeriodType, p.ExecuteTime = "MONTH", "2019-01-29"
		}, prp + "execute_time"},
		{"DAY on the 31st", func(r *TradeAppPayRequest) { r.AgreementSignParams.PeriodRuleParams.ExecuteTime = "2019-01-31" }, ""},
		{"single_amount missing", func(r *TradeAppPayRequest) { r.AgreementSignParams.PeriodRuleParams.SingleAmount = "" }, prp + "single_amount"},
		{"single_amount three decimals", func(r *TradeAppPayRequest) { r.AgreementSignParams.PeriodRuleParams.SingleAmount = "10.999" }, prp + "single_amount"},
		{"single_amount zero", func(r *TradeAppPayRequest) { r.AgreementSignParams.PeriodRuleParams.SingleAmount = "0" }, prp + "single_amount"},
		{"total_amount not a number", func(r *TradeAppPayRequest) { r.AgreementSignParams.PeriodRuleParams.TotalAmount = "six hundred" }, prp + "total_amount"},
		{"total_payments negative", func(r *TradeAppPayRequest) { r.AgreementSignParams.PeriodRuleParams.TotalPayments = -1 }, prp + "total_payments"},
		{"total_payments 9 digits", func(r *TradeAppPayRequest) { r.AgreementSignParams.PeriodRuleParams.TotalPayments = 100000000 }, prp + "total_payments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := pageAppPay()
			tt.mod(&req)
			order, err := c.AppPayOrder(req)
			expectField(t, err, tt.field)
			if (order == "") != (tt.field != "") {
				t.Fatalf("order %q with error %v", order, err)
			}
			if err := req.Validate(); (err == nil) != (tt.field == "") {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}
