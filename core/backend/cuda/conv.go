package cuda

// convState is the conv kernels' host-side state (workspaces, cached tables).
type convState struct{}
