package cuda

// opsState is the ops kernels' host-side state (workspaces, cached tables).
type opsState struct{}
