//go:build !unix

package sqlite

func umask(m int) int { return m }
