package doctor

import "golang.org/x/sys/windows"

// stillActive is GetExitCodeProcess's code for a process that has not ended.
const stillActive = 259

// processRunning reports whether a process with pid exists and has not
// ended.
func processRunning(pid int) bool {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return err == windows.ERROR_ACCESS_DENIED
	}
	defer windows.CloseHandle(h)
	var code uint32
	return windows.GetExitCodeProcess(h, &code) == nil && code == stillActive
}
