//go:build cuda || cudaemu

package cuda

// Test hooks: small test inputs reach every GEMM kernel and the chunked
// convolution paths only when the shape-based choices are pinned.

// ForceGemm pins the GEMM's block tile ("128", "64", "32", "tf32-128",
// "tf32-64") and split-K factor; ("", 0) restores the choice by shape, and
// ("", splits) runs the 64×64 tile with that many splits.
func (c *CUDA) ForceGemm(tile string, splits int) {
	c.gemm.forceTile = map[string]*gemmTile{
		"128": &tile128, "64": &tile64, "32": &tile32, "tf32-128": &tileTF128, "tf32-64": &tileTF64,
	}[tile]
	c.gemm.forceSplits = splits
}

// SetConvWorkLimit bounds the convolution workspace to floats (0 restores
// the default), which forces the batch into chunks.
func (c *CUDA) SetConvWorkLimit(floats int) { c.conv.limit = floats }

// PoisonWorkspaces fills every workspace with NaN each time an op takes it,
// so a kernel that reads workspace it did not write fails its comparison.
func (c *CUDA) PoisonWorkspaces(on bool) { c.poison = on }
