package alipay

import (
	"context"
	"encoding/json"
	"fmt"
)

// Validate checks the request against the limits of
// alipay.user.twostage.common.use.
func (r TwostageRequest) Validate() error {
	return firstProblem(
		checkRequired("dynamic_id", r.DynamicID, 32),
		checkRequired("sence_no", r.SenceNo, 128),
		checkRequired("pay_pid", r.PayPID, 32),
	)
}

// TwostageCommonUse decodes a scanned payment code into the customer's
// user_id and campus identity (alipay.user.twostage.common.use). Decoding the
// same code again must carry the same sence_no; the gateway answers
// SENCENO_UN_MATCH otherwise.
func (c *Client) TwostageCommonUse(ctx context.Context, req TwostageRequest) (*TwostageResponse, error) {
	const method = MethodTwostageCommonUse
	if err := req.Validate(); err != nil {
		return nil, &Error{Method: method, Err: err}
	}
	biz, err := marshalBiz(req)
	if err != nil {
		return nil, &Error{Method: method, Err: err}
	}
	obj, err := c.call(ctx, method, biz, req.Ready)
	if err != nil {
		return nil, err
	}
	var r TwostageResponse
	if err := json.Unmarshal(obj, &r); err != nil {
		return nil, &Error{Method: method, HTTPStatus: 200, Err: fmt.Errorf("%w: %v", ErrMalformed, err)}
	}
	return &r, nil
}
