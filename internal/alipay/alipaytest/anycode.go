package alipaytest

// WithAnyCode makes every well-formed payment code the server never issued
// decode to the user userID, as a code issued now would: `posagent demo`
// with a real scanner decodes whatever code a phone shows, so store IT can
// prove the scanner before any Alipay keys exist. Issued, expired and
// illegal codes keep their own answers.
func WithAnyCode(userID string) Option { return func(s *Server) { s.anyCode = userID } }

// SetAnyCode is WithAnyCode on a running server; "" turns it off.
func (s *Server) SetAnyCode(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.anyCode = userID
}

// lookupCode finds the code dynamicID; with WithAnyCode an unknown one is
// issued to the demo customer on the spot. s.mu is held.
func (s *Server) lookupCode(dynamicID string) (*payCode, bool) {
	c, ok := s.codes[dynamicID]
	if !ok && s.anyCode != "" {
		c = &payCode{userID: s.anyCode, expires: s.now().Add(s.codeTTL)}
		s.codes[dynamicID] = c
		ok = true
	}
	return c, ok
}
