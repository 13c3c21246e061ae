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

// cpuTicks are the machine-wide CPU counters of the first line of /proc/stat, summed over all cores.
type cpuTicks struct {
	busy  int64 // user, nice, system, irq, softirq, steal
	total int64 // busy + idle + iowait
}

// boxTicks reads the machine-wide CPU counters now.
func boxTicks() (cpuTicks, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTicks{}, err
	}
	return parseProcStat(b)
}

// parseProcStat reads the "cpu " line of /proc/stat: user nice system idle iowait irq softirq steal
// (guest time is already inside user and nice). Waiting for I/O counts as idle: the CPU could run
// something else.
func parseProcStat(stat []byte) (cpuTicks, error) {
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return cpuTicks{}, errors.New("no cpu line in /proc/stat")
	}
	var v [8]int64
	for i := range v {
		x, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return cpuTicks{}, errors.New("malformed /proc/stat cpu line")
		}
		v[i] = x
	}
	busy := v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
	return cpuTicks{busy: busy, total: busy + v[3] + v[4]}, nil
}

// busyPctSince is the percentage of CPU time that was busy between earlier and t; -1 if no time passed.
func (t cpuTicks) busyPctSince(earlier cpuTicks) float64 {
	dt := t.total - earlier.total
	if dt <= 0 {
		return -1
	}
	return 100 * float64(t.busy-earlier.busy) / float64(dt)
}

// writeBytes returns write_bytes of /proc/<pid>/io: the bytes process pid has caused to be written to
// storage so far (its share of the page cache it dirtied, whether or not written back yet).
func writeBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes:"); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New("no write_bytes in /proc io")
}
