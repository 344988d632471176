// Command byol-lab trains BYOL and shows it learning — or collapsing.
//
//	byol-lab train [flags]   headless training with metrics, plots, checkpoints
//	byol-lab bench [flags]   training throughput of the CPU backend
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `byol-lab: watch BYOL self-supervised learning happen.

Usage:
  byol-lab train [flags]   train headless; writes metrics, plots and checkpoints to --out
  byol-lab bench [flags]   measure training throughput (img/s)
  byol-lab help            this text

Run "byol-lab COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "train":
		err = trainCmd(args[1:], stdout, stderr)
	case "bench":
		err = benchCmd(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "byol-lab: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "byol-lab: %v\n", err)
		return 1
	}
	return 0
}
