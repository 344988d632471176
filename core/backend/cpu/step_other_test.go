//go:build !linux

package cpu_test

func residentBytes() int64 { return 0 }
