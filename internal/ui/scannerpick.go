package ui

// pickScanner lists the scanners this PC can see and fills the settings'
// scanner fields from the one staff pick.
func (a *App) pickScanner(s *settingsScreen) {
	s.note = " Scanner detection is not available in this build."
	s.showMessage()
}
