//go:build amd64 && !purego

package gemm

// addChain runs n·100 dependent integer additions, one per cycle: timing it
// measures the core clock, which a VM's /proc/cpuinfo does not report (it
// gives the nominal TSC rate). BenchmarkClock uses it.
//
//go:noescape
func addChain(n int)
