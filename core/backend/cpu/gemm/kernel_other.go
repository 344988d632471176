//go:build !(amd64 || arm64) || purego

package gemm

func bestKernel() kernel { return goKernel }

func narrowKernel() kernel { return goKernel }

// kernels lists every kernel this build can run on this CPU, best first.
func kernels() []kernel { return []kernel{goKernel} }
