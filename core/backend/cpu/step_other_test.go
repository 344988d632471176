//go:build !linux

package cpu_test

import "time"

func residentBytes() int64 { return 0 }

func processCPU() time.Duration { return -1 }
