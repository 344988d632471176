//go:build cudaemu && !cuda

package main

import (
	"strings"
	"testing"
)

// TestBenchProfileOnEmulatedCUDA takes `bench --device cuda --profile` end
// to end with the CUDA kernels running on the CPU emulator.
func TestBenchProfileOnEmulatedCUDA(t *testing.T) {
	code, out, errOut := runCLI("bench", "--device", "cuda", "--dataset", "shapes", "--arch", "tiny",
		"--batch", "8", "--warmup", "1", "--timed", "1", "--profile", "2")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	t.Log(out)
	for _, want := range []string{"device=cuda (", "kernel profile over 2 steps:", "ops_adamw", "conv_im2col", "total (each launch waited for)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
