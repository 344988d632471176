package cuda

// gemmState is the gemm kernels' host-side state (workspaces, cached tables).
type gemmState struct{}
