package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// Server-side figures come from /proc (Linux). Elsewhere the readers fail and the tables show n/a.

// clockTicks is the unit of utime and stime in /proc/<pid>/stat: `getconf CLK_TCK`, asked once; 100 if
// that fails (the value on every common Linux).
var clockTicks = sync.OnceValue(func() int64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && v > 0 {
			return v
		}
	}
	return 100
})

// cpuMicros returns the CPU time (user + system) consumed so far by process pid, in microseconds.
func cpuMicros(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	ticks, err := parseStatTicks(b)
	if err != nil {
		return 0, err
	}
	return ticks * 1_000_000 / clockTicks(), nil
}

// parseStatTicks returns utime + stime (fields 14 and 15) of a /proc/<pid>/stat line. The command name
// (field 2) is parenthesised and may contain spaces, so fields are counted after its closing ')'.
func parseStatTicks(stat []byte) (int64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(stat[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed /proc stat times")
	}
	return utime + stime, nil
}

// procKiB returns a "kB" field of /proc/<pid>/status, such as VmRSS (resident now) or VmHWM (peak
// resident since the process started).
func procKiB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusKiB(b, field)
}

func parseStatusKiB(status []byte, field string) (int64, error) {
	for _, line := range strings.Split(string(status), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || k != field {
			continue
		}
		v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
		return strconv.ParseInt(v, 10, 64)
	}
	return 0, fmt.Errorf("no %s in /proc status", field)
}

func kibToMiB(k int64) float64 { return float64(k) / 1024 }
