//go:build !linux

package cputime

import "time"

// ThreadAvailable reports whether Thread reads a real clock here.
const ThreadAvailable = false

// Thread is 0: this OS's thread CPU clock is not read.
func Thread() time.Duration { return 0 }

// Process is −1: unknown here.
func Process() time.Duration { return -1 }
