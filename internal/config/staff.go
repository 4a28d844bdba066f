package config

import "posagent/internal/staffpin"

// validateStaff checks staff_pin: a hash the settings screen made, never a
// PIN in clear.
func (c *Config) validateStaff(bad func(key, format string, args ...any)) {
	if c.StaffPIN == "" {
		return
	}
	if err := staffpin.Valid(c.StaffPIN); err != nil {
		bad("staff_pin", "%v; set the PIN from the settings screen", err)
	}
}
