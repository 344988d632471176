// Command gen writes kernels/emu/kernels_gen.h, the emulator's table of
// kernels, from the extern "C" __global__ functions of byol.cu (and the
// headers it includes) and of kernels/emu/selftest.cuh. kernels/gen.sh runs
// it, so `go generate ./kernels` refreshes it with the nvcc outputs:
//
//	go run ./kernels/emu/gen [-dir kernels/emu] [-check]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/byol-lab/byol-lab/kernels/emu/internal/ktable"
)

func main() {
	dir := flag.String("dir", "kernels/emu", "the emulator's directory")
	check := flag.Bool("check", false, "only report whether the table is up to date")
	flag.Parse()
	if err := run(*dir, *check); err != nil {
		fmt.Fprintln(os.Stderr, "kernels/emu/gen:", err)
		os.Exit(1)
	}
}

func run(dir string, check bool) error {
	text, err := ktable.Generate(dir)
	if err != nil {
		return err
	}
	out := filepath.Join(dir, ktable.FileName)
	if check {
		old, err := os.ReadFile(out)
		if err != nil {
			return err
		}
		if !bytes.Equal(old, text) {
			return fmt.Errorf("%s is stale: run go generate ./kernels", out)
		}
		return nil
	}
	return os.WriteFile(out, text, 0o644)
}
