//go:build !linux

package main

import "os/exec"

// setParentDeathSignal is a no-op outside Linux: children are stopped by child.stop only.
func setParentDeathSignal(*exec.Cmd) {}
