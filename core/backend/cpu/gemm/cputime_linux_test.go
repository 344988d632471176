package gemm

import (
	"time"

	"golang.org/x/sys/unix"
)

func init() { cpuClock = threadCPU }

// threadCPU is this thread's CPU time: on a shared machine it moves far
// less than wall time when other jobs take the cores.
func threadCPU() time.Duration {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}
