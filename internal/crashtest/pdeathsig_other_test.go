//go:build !linux

package crashtest

import "os/exec"

// setParentDeathSignal is a no-op off Linux, where the test skips before starting a server.
func setParentDeathSignal(*exec.Cmd) {}
