package alipaytest

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"regexp"
	"time"

	"posagent/internal/alipay"
)

// User is an Alipay user as alipay.user.twostage.common.use sees it.
type User struct {
	UserID     string
	School     *alipay.HSchoolInfo // campus identity; nil for a user without one
	Authorised bool                // has authorised the merchant's mini program; false answers USER_UN_AUTH
}

// payCode is an issued payment code.
type payCode struct {
	userID  string
	expires time.Time
	illegal bool   // not a code Alipay accepts: ILLEGAL_CODE
	senceNo string // set by the first decode that got to the user
}

// paymentCode is the shape of an Alipay payment code: 16 to 24 digits
// starting with 25 to 30. Anything else is ILLEGAL_CODE.
var paymentCode = regexp.MustCompile(`^(2[5-9]|30)[0-9]{14,22}$`)

// AddUser adds or replaces a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.UserID] = u
}

// IssueCode returns a fresh valid 18-digit payment code for the user that
// decodes until CodeTTL has passed on the server's clock. A code for a user
// the server does not know decodes to INDEX_NOT_EXIST.
func (s *Server) IssueCode(userID string) string {
	return s.newCode(&payCode{userID: userID, expires: s.now().Add(s.codeTTL)})
}

// ExpiredCode returns a payment code for the user that has already expired.
func (s *Server) ExpiredCode(userID string) string {
	return s.newCode(&payCode{userID: userID, expires: s.now().Add(-time.Second)})
}

// IllegalCode returns a code shaped like a payment code (so that a scanner's
// checks pass it) that the gateway answers with ILLEGAL_CODE.
func (s *Server) IllegalCode() string {
	return s.newCode(&payCode{illegal: true})
}

var codeSpace = new(big.Int).Exp(big.NewInt(10), big.NewInt(16), nil)

func (s *Server) newCode(c *payCode) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		n, err := rand.Int(rand.Reader, codeSpace)
		if err != nil {
			panic(fmt.Sprintf("alipaytest: code: %v", err))
		}
		code := fmt.Sprintf("28%016d", n)
		if _, taken := s.codes[code]; !taken {
			s.codes[code] = c
			return code
		}
	}
}

// twostage is alipay.user.twostage.common.use.
func (s *Server) twostage(obj map[string]any, bizErr error) *reply {
	const method = alipay.MethodTwostageCommonUse
	fail := func(sub, detail string) *reply {
		return failure(method, alipay.CodeBusinessFailed, sub, subMsg(sub, detail))
	}
	if bizErr != nil {
		return fail(alipay.SubInputIllegal, bizErr.Error())
	}
	fields := map[string]string{}
	for _, p := range []struct {
		name string
		max  int
	}{{"dynamic_id", 32}, {"sence_no", 128}, {"pay_pid", 32}} {
		v, problem := bizString(obj, p.name)
		if problem != "" {
			return fail(alipay.SubInputIllegal, problem)
		}
		if n := runes(v); n > p.max {
			return fail(alipay.SubInputIllegal, fmt.Sprintf("%s is %d characters, at most %d", p.name, n, p.max))
		}
		fields[p.name] = v
	}
	dynamicID, senceNo := fields["dynamic_id"], fields["sence_no"]
	if !paymentCode.MatchString(dynamicID) {
		return fail(alipay.SubIllegalCode, "")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.lookupCode(dynamicID)
	switch {
	case !ok:
		return fail(alipay.SubIndexNotExist, "")
	case c.illegal:
		return fail(alipay.SubIllegalCode, "")
	case !s.now().Before(c.expires):
		return fail(alipay.SubCodeExpired, "")
	}
	u, ok := s.users[c.userID]
	if !ok {
		return fail(alipay.SubIndexNotExist, "")
	}
	if c.senceNo == "" {
		// Every decode of another code must carry another sence_no.
		if other, used := s.sences[senceNo]; used && other != dynamicID {
			return fail(alipay.SubSenceNoUnMatch, "sence_no was sent before with another code")
		}
		c.senceNo = senceNo
		s.sences[senceNo] = dynamicID
	} else if c.senceNo != senceNo {
		return fail(alipay.SubSenceNoUnMatch, "")
	}
	if !u.Authorised {
		return fail(alipay.SubUserUnAuth, "")
	}
	out := []field{{"user_id", u.UserID}}
	if u.School != nil {
		out = append(out, field{"user_identity_info", object{{"h_school_info", object{
			{"school_std_code", u.School.SchoolStdCode},
			{"campus_no", u.School.CampusNo},
		}}}})
	}
	return success(method, out...)
}
