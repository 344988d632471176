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
	for _, want := range []string{"device=cuda (", "kernel profile over 2 steps:", "ops_adamw", "conv_im2col", "total (device time, by events)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestBenchConvImplicitOnEmulatedCUDA: --conv implicit reaches the backend
// (the profile shows the implicit kernels and no im2col for tiny's layers,
// whose output rows are 32, 16 and 8 pixels wide) and the line says so.
func TestBenchConvImplicitOnEmulatedCUDA(t *testing.T) {
	code, out, errOut := runCLI("bench", "--device", "cuda", "--dataset", "shapes", "--arch", "tiny",
		"--batch", "8", "--warmup", "0", "--timed", "1", "--profile", "1", "--conv", "implicit")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	t.Log(out)
	for _, want := range []string{"conv=implicit:", "conv_fwd_", "conv_bwd_filter_"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// The stride-2 layers' backward data stays on im2col's col2im.
	if strings.Contains(out, "conv_im2col") {
		t.Error("the implicit run unfolded columns (conv_im2col in the profile)")
	}
}

// TestBenchConvAutoOnEmulatedCUDA: --conv auto tunes each layer and pass
// on first use and bench lists the choices with their times.
func TestBenchConvAutoOnEmulatedCUDA(t *testing.T) {
	code, out, errOut := runCLI("bench", "--device", "cuda", "--dataset", "shapes", "--arch", "tiny",
		"--batch", "8", "--warmup", "0", "--timed", "1", "--conv", "auto")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	t.Log(out)
	// tiny: three conv layers; layer 0 needs no data gradient.
	if n := strings.Count(out, " ms\n"); n != 8 {
		t.Errorf("%d choice lines, want 8 (3 forward, 3 filter, 2 data)", n)
	}
	for _, want := range []string{"conv=auto:", "conv=auto chose", "16 × 3×32×32 → 16, 3×3/1", "im2col"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestBenchConvListOnEmulatedCUDA: a list of algorithms takes turns on one
// trainer, a line (and a profile) each.
func TestBenchConvListOnEmulatedCUDA(t *testing.T) {
	code, out, errOut := runCLI("bench", "--device", "cuda", "--dataset", "shapes", "--arch", "tiny",
		"--batch", "8", "--warmup", "0", "--timed", "1", "--profile", "1", "--conv", "im2col, winograd4")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	t.Log(out)
	first, second := strings.Index(out, "conv=im2col:"), strings.Index(out, "conv=winograd4:")
	if first < 0 || second < first || strings.Count(out, "kernel profile over 1 steps:") != 2 {
		t.Errorf("want an im2col line and profile, then a winograd4 line and profile")
	}
	// Each profile covers its own steps: im2col's unfolds, winograd4's (on
	// tiny, whose layers are stride 2 or RGB, the implicit GEMM) does not.
	if p := out[second:]; strings.Contains(p, "conv_im2col") {
		t.Error("the second profile includes the first's im2col launches")
	}
}
