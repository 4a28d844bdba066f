package alipay

import (
	"fmt"
	"strconv"
)

// MaxFen is the largest total_amount of a trade: 100000000 yuan.
const MaxFen = 100000000 * 100

// MaxAmountLen is the longest total_amount alipay.trade.pay takes (the
// page's Price, max length 11): "99999999.99" fits, "100000000.00" does
// not, so TradeAmount writes the maximum without its ".00".
const MaxAmountLen = 11

// ParseYuan reads an amount in yuan as the trade pages write it ("12.50",
// "3", "0.01") into fen. Money is never a float: the string is checked by
// the pages' rules (digits, at most two decimals, 0.01 to 100000000) and
// read digit by digit. The error names what is wrong.
func ParseYuan(v string) (int64, error) {
	if err := checkAmount("total_amount", v, true); err != nil {
		return 0, err
	}
	whole, frac := v, ""
	for i := 0; i < len(v); i++ {
		if v[i] == '.' {
			whole, frac = v[:i], v[i+1:]
			break
		}
	}
	fen, _ := strconv.ParseInt(whole, 10, 64) // checked: at most 9 digits
	fen *= 100
	if frac != "" {
		f, _ := strconv.ParseInt((frac + "0")[:2], 10, 64)
		fen += f
	}
	return fen, nil
}

// FormatFen writes fen as yuan with two decimals, the form the gateway
// answers in: 1250 is "12.50".
func FormatFen(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// TradeAmount writes fen as alipay.trade.pay's total_amount: yuan with two
// decimals, except that a whole amount too long for MaxAmountLen goes
// without ".00" (only the maximum, "100000000", is).
func TradeAmount(fen int64) string {
	v := FormatFen(fen)
	if len(v) > MaxAmountLen && fen%100 == 0 {
		return v[:len(v)-3]
	}
	return v
}
