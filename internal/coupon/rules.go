// Package coupon decides which coupons a decoded customer gets and issues
// them with alipay.pass.instance.add, exactly once each: every issue is a
// durable queue job whose serialNumber is derived from the decode's sence_no
// and the template, so a retry after an outage can never issue a second pass.
package coupon

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"posagent/internal/decode"
)

// Template is a pass template to issue, with its parameters before the
// placeholders are filled.
type Template struct {
	TplID  string            `json:"tpl_id"`
	Params map[string]string `json:"tpl_params"`
}

// Placeholders are the names a tpl_params string may hold in braces, e.g.
// "{campus_no}": what the decode knows about the customer and the pass.
var Placeholders = []string{"user_id", "school_std_code", "campus_no", "date", "serial", "sence_no"}

// SerialKey is the tpl_params key of the pass's serial number. The page says
// the serial number must come in through the dynamic parameters; posagent
// always sets it to the derived serial so that issues are idempotent.
const SerialKey = "serialNumber"

var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// Rule is one configured coupon: who gets it and which template.
type Rule struct {
	SchoolStdCode string // "" with AnyUser
	AnyUser       bool
	Template
}

// Rules are the configured coupons, in the configuration's order.
type Rules []Rule

// Spec is a coupon rule as the configuration file writes it (one entry of
// "coupons"): who gets it, the template, and its parameters as JSON.
type Spec struct {
	SchoolStdCode string          // match.school_std_code; "" with AnyUser
	AnyUser       bool            // match.any_user
	TplID         string          // tpl_id
	TplParams     json.RawMessage // tpl_params: a JSON object; string values may hold placeholders
}

// FieldError is a problem with one key of a coupon rule. Key is the path in
// the configuration file, such as "coupons[1].tpl_params.x".
type FieldError struct {
	Key string
	Msg string
}

func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

// NewRules checks the configured coupons: tpl_params values become strings
// (the gateway wants a string map; numbers and objects keep their JSON
// text), and every placeholder must be one of Placeholders. Errors are
// *FieldError naming the key.
func NewRules(specs []Spec) (Rules, error) {
	rs := make(Rules, 0, len(specs))
	for i, c := range specs {
		key := fmt.Sprintf("coupons[%d].tpl_params", i)
		params, err := stringParams(c.TplParams)
		if err != nil {
			return nil, &FieldError{Key: key, Msg: err.Error()}
		}
		for _, k := range sortedKeys(params) {
			for _, m := range placeholder.FindAllStringSubmatch(params[k], -1) {
				if !slices.Contains(Placeholders, m[1]) {
					return nil, &FieldError{Key: key + "." + k, Msg: fmt.Sprintf("unknown placeholder %s: use one of {%s}", m[0], strings.Join(Placeholders, "}, {"))}
				}
			}
		}
		rs = append(rs, Rule{SchoolStdCode: c.SchoolStdCode, AnyUser: c.AnyUser, Template: Template{TplID: c.TplID, Params: params}})
	}
	return rs, nil
}

func stringParams(raw json.RawMessage) (map[string]string, error) {
	params := map[string]string{}
	if len(raw) == 0 {
		return params, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("must be a JSON object: %v", err)
	}
	for k, v := range obj {
		var s string
		if json.Unmarshal(v, &s) == nil {
			params[k] = s
		} else {
			params[k] = string(v)
		}
	}
	return params, nil
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Match returns the templates of the rules id matches: its school's, and
// those for any user. A customer without campus identity gets only the
// latter.
func (rs Rules) Match(id decode.Identity) []Template {
	var ts []Template
	for _, r := range rs {
		if r.AnyUser || (r.SchoolStdCode != "" && r.SchoolStdCode == id.SchoolStdCode) {
			ts = append(ts, r.Template)
		}
	}
	return ts
}

// beijing is UTC+8: the {date} placeholder is the Beijing date of the decode.
var beijing = time.FixedZone("CST", 8*60*60)

// Fill returns t's parameters for id with every placeholder replaced and the
// serial number set. Unknown placeholders (from a merchant endpoint) stay as
// they are.
func Fill(t Template, id decode.Identity, serial string) map[string]string {
	values := map[string]string{
		"user_id":         id.UserID,
		"school_std_code": id.SchoolStdCode,
		"campus_no":       id.CampusNo,
		"date":            id.At.In(beijing).Format("2006-01-02"),
		"serial":          serial,
		"sence_no":        id.SenceNo,
	}
	out := make(map[string]string, len(t.Params)+1)
	for k, v := range t.Params {
		out[k] = placeholder.ReplaceAllStringFunc(v, func(m string) string {
			if val, ok := values[m[1:len(m)-1]]; ok {
				return val
			}
			return m
		})
	}
	out[SerialKey] = serial
	return out
}
