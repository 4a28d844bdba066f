package alipay

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// toGBK returns s encoded in GBK, as a string of GBK bytes. A character GBK
// cannot encode is an error naming it: replacing it with '?' would sign and
// send something else than what the caller wrote.
func toGBK(s string) (string, error) {
	if isASCII(s) {
		return s, nil
	}
	out, err := simplifiedchinese.GBK.NewEncoder().String(s)
	if err != nil {
		for _, r := range s {
			if _, e := simplifiedchinese.GBK.NewEncoder().String(string(r)); e != nil {
				return "", fmt.Errorf("%q (U+%04X) has no GBK encoding", r, r)
			}
		}
		return "", fmt.Errorf("not encodable in GBK: %v", err)
	}
	return out, nil
}

// fromGBK decodes GBK bytes to UTF-8.
func fromGBK(b []byte) ([]byte, error) {
	if isASCII(string(b)) {
		return b, nil
	}
	out, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
	if err != nil {
		return nil, fmt.Errorf("GBK: %v", err)
	}
	if !utf8.Valid(out) {
		return nil, errors.New("GBK: does not decode")
	}
	return out, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
