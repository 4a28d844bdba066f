package alipay

import (
	"context"
	"encoding/json"
	"sort"
)

// MethodPassInstanceAdd issues a pass from a template.
const MethodPassInstanceAdd = "alipay.pass.instance.add"

// Sub codes of alipay.pass.instance.add.
const (
	SubPassParamIsNull        = "KP.AE_ALIPASS_PARAME_IS_NULL"
	SubPassRecognitionType    = "KP.AE_ALIPASS_RECOGNITION_TYPE_NOSUPPORT"
	SubPassSystemError        = "KP.AE_SYSTEM_ERROR" // retry
	SubPassAppIDNotSupported  = "KP.AE_ALIPASS_APPID_NOSUPPORT"
	SubPassUserIDNotSupported = "KP.AE_ALIPASS_USERID_NOSUPPORT"
	SubPassParamsValueInvalid = "KP.AE_ALIPASS_PARAMS_VALUE_INVAILD"
	SubPassParamsFormatError  = "KP.AE_ALIPASS_PARAMS_FORMAT_ERROR"
	SubPassCharNotGBK         = "KP.AE_ALIPASS_CHAR_NOT_GBK"
	RecognitionTypeOrder      = "1" // the only recognition_type: order information
	PassOperateAdd            = "ADD"
	PassResultSuccess         = "SUCCESS"
)

// PassInstanceAddRequest is the biz_content of alipay.pass.instance.add.
// TplParams and RecognitionInfo travel as JSON strings inside biz_content, as
// the page requires; the client serializes them.
type PassInstanceAddRequest struct {
	TplID           string            // max 999
	TplParams       map[string]string // serialized max 99999
	RecognitionType string            // "1" (RecognitionTypeOrder), the default when empty
	RecognitionInfo RecognitionInfo   // serialized max 999
}

// RecognitionInfo identifies the customer through an order.
type RecognitionInfo struct {
	PartnerID  string `json:"partner_id"`
	OutTradeNo string `json:"out_trade_no"`
}

// PassInstanceAddResponse is the response of alipay.pass.instance.add.
type PassInstanceAddResponse struct {
	Success bool       // the "success" flag, "true" or "false" on the wire
	Result  PassResult // the "result" JSON string, parsed
}

// PassResult is the parsed "result" of alipay.pass.instance.add.
type PassResult struct {
	SerialNumber string `json:"serialNumber"`
	PassID       string `json:"passId"`
	Operate      string `json:"operate"` // or "operation", as the page's table names it
	ErrorCode    string `json:"errorCode"`
	ErrorMsg     string `json:"errorMsg"`
}

// passBiz is the biz_content of alipay.pass.instance.add: tpl_params and
// recognition_info are JSON texts inside it, as strings.
type passBiz struct {
	TplID           string `json:"tpl_id"`
	TplParams       string `json:"tpl_params"`
	RecognitionType string `json:"recognition_type"`
	RecognitionInfo string `json:"recognition_info"`
}

func (r PassInstanceAddRequest) biz() (passBiz, error) {
	b := passBiz{TplID: r.TplID, RecognitionType: r.RecognitionType}
	if b.RecognitionType == "" {
		b.RecognitionType = RecognitionTypeOrder
	}
	if err := firstProblem(
		checkRequired("tpl_id", r.TplID, 999),
		checkLen("recognition_type", b.RecognitionType, 999),
		checkEnum("recognition_type", b.RecognitionType, RecognitionTypeOrder),
		checkRequired("recognition_info.partner_id", r.RecognitionInfo.PartnerID, 999),
		checkRequired("recognition_info.out_trade_no", r.RecognitionInfo.OutTradeNo, 999),
	); err != nil {
		return b, err
	}
	if len(r.TplParams) == 0 {
		return b, invalid("tpl_params", "required")
	}
	keys := make([]string, 0, len(r.TplParams))
	for k := range r.TplParams {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "" {
			return b, invalid("tpl_params", "a variable without a name")
		}
		// The gateway refuses a pass with characters outside GBK
		// (KP.AE_ALIPASS_CHAR_NOT_GBK); find them before sending.
		for _, s := range []string{k, r.TplParams[k]} {
			if _, err := toGBK(s); err != nil {
				return b, invalid("tpl_params."+k, "%v", err)
			}
		}
	}
	var err error
	if b.TplParams, err = marshalBiz(r.TplParams); err != nil {
		return b, invalid("tpl_params", "%v", err)
	}
	if b.RecognitionInfo, err = marshalBiz(r.RecognitionInfo); err != nil {
		return b, invalid("recognition_info", "%v", err)
	}
	if err := firstProblem(
		checkLen("tpl_params", b.TplParams, 99999),
		checkLen("recognition_info", b.RecognitionInfo, 999),
	); err != nil {
		return b, err
	}
	// The page: serialNumber, the pass's unique redemption number, "must
	// be given as a dynamic parameter"; the gateway is idempotent on it.
	if r.TplParams["serialNumber"] == "" {
		return b, invalid("tpl_params.serialNumber", "required: the pass's unique serial number")
	}
	return b, nil
}

// Validate checks the request against the limits of alipay.pass.instance.add.
func (r PassInstanceAddRequest) Validate() error {
	_, err := r.biz()
	return err
}

// PassInstanceAdd issues a pass (coupon) from a template to the customer
// (alipay.pass.instance.add). The gateway is idempotent on the template's
// serial number, so a retry after a lost answer does not issue twice. A
// refusal inside a code 10000 answer (success "false") is returned as *Error
// with the result's errorCode as SubCode, so callers treat both alike.
func (c *Client) PassInstanceAdd(ctx context.Context, req PassInstanceAddRequest) (*PassInstanceAddResponse, error) {
	const method = MethodPassInstanceAdd
	b, err := req.biz()
	if err != nil {
		return nil, &Error{Method: method, Err: err}
	}
	return send(ctx, c, method, b, nil, parsePassResponse)
}

func parsePassResponse(obj []byte) (*PassInstanceAddResponse, error) {
	const method = MethodPassInstanceAdd
	var raw struct {
		commonResult
		Success json.RawMessage `json:"success"`
		Result  string          `json:"result"`
	}
	if err := json.Unmarshal(obj, &raw); err != nil {
		return nil, malformedAnswer(method, "%v", err)
	}
	var r PassInstanceAddResponse
	switch string(raw.Success) {
	case `"true"`, `true`:
		r.Success = true
	case `"false"`, `false`:
	default:
		return nil, malformedAnswer(method, "success is %s, want \"true\" or \"false\"", raw.Success)
	}
	if raw.Result != "" {
		// The page's table calls it operation, its example operate:
		// either is read.
		var res struct {
			PassResult
			Operation string `json:"operation"`
		}
		if err := json.Unmarshal([]byte(raw.Result), &res); err != nil {
			return nil, malformedAnswer(method, "result is not a JSON object: %v", err)
		}
		r.Result = res.PassResult
		if r.Result.Operate == "" {
			r.Result.Operate = res.Operation
		}
	}
	if !r.Success {
		return nil, &Error{
			Method: method, HTTPStatus: 200,
			Code: raw.Code, Msg: raw.Msg,
			SubCode: r.Result.ErrorCode, SubMsg: r.Result.ErrorMsg,
		}
	}
	return &r, nil
}
