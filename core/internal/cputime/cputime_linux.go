package cputime

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ThreadAvailable reports whether Thread reads a real clock here.
const ThreadAvailable = true

// Thread is the calling OS thread's CPU time (lock the goroutine to its
// thread around a measurement).
func Thread() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

// Process is the user and system CPU time of the process so far, or −1
// where unknown.
func Process() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return -1
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
