package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat.
// It is 100 on every Linux architecture Go supports (the kernel ABI fixes
// it; sysconf(_SC_CLK_TCK) would need cgo to ask).
const clockTicks = 100

// procSample is what /proc tells about a process at one instant.
type procSample struct {
	at  time.Time
	cpu time.Duration // utime + stime
	rss int64         // VmRSS, bytes
	hwm int64         // VmHWM (peak RSS), bytes
}

// sampleProc reads the CPU time and memory of process pid.
func sampleProc(pid int) (procSample, error) {
	s := procSample{at: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	if s.cpu, err = parseStatCPU(stat); err != nil {
		return s, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	s.rss, s.hwm = parseStatusKB(status, "VmRSS:")*1024, parseStatusKB(status, "VmHWM:")*1024
	return s, nil
}

// parseStatCPU returns utime + stime from the contents of /proc/PID/stat
// (proc(5): fields 14 and 15, in clock ticks).
func parseStatCPU(stat []byte) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may contain spaces
	// and parentheses: the fields that follow start after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc stat %q", stat)
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat %q", stat)
	}
	utime, err1 := strconv.ParseInt(f[14-3], 10, 64)
	stime, err2 := strconv.ParseInt(f[15-3], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("malformed /proc stat times %q %q", f[14-3], f[15-3])
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// parseStatusKB returns the value of a "Key:   123 kB" line of
// /proc/PID/status, or 0 when it is missing.
func parseStatusKB(status []byte, key string) int64 {
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// selfCPU returns the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
