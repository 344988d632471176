// Command byol-lab trains BYOL and shows it learning — or collapsing.
//
//	byol-lab [serve] [flags] the live lab in the browser (the default)
//	byol-lab train [flags]   headless training with metrics, plots, checkpoints
//	byol-lab bench [flags]   training throughput of the CPU backend
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `byol-lab: watch BYOL self-supervised learning happen.

Usage:
  byol-lab [serve] [flags] the live lab: trains runs side by side and streams them to
                           the browser at http://127.0.0.1:8080 (the default command)
  byol-lab train [flags]   train headless; writes metrics, plots and checkpoints to --out
  byol-lab bench [flags]   measure training throughput (img/s)
  byol-lab help            this text

Run "byol-lab COMMAND -h" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// serveMain runs the serve command; tests replace it.
var serveMain = serveCmd

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !isHelp(args[0]) {
		// No command, or flags only (byol-lab --addr 0.0.0.0:8080): serve.
		args = append([]string{"serve"}, args...)
	}
	var err error
	switch args[0] {
	case "serve":
		err = serveMain(args[1:], stdout, stderr)
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

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help"
}

// interruptContext is cancelled by the first Ctrl-C or SIGTERM, so commands
// can stop cleanly (save checkpoints); a second signal kills the process as
// usual.
func interruptContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // restore the default action for a second signal
	}()
	return ctx, stop
}
