//go:build unix

package sqlite

import "syscall"

// umask sets the process file-mode mask and returns the previous one.
func umask(m int) int { return syscall.Umask(m) }
