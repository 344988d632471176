package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/byol-lab/byol-lab/core/session"
)

func trainCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf configFlags
	cf.register(fs)
	out := fs.String("out", "", "output directory: metrics.jsonl/.csv, plots, checkpoint")
	resume := fs.Bool("resume", false, "continue exactly from --out's checkpoint")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("train: unexpected arguments %q", fs.Args())
	}
	cfg, err := cf.build(fs)
	if err != nil && !*resume {
		return err
	}
	// Ctrl-C or SIGTERM stop training at the next step boundary and write a
	// checkpoint.
	ctx, stop := interruptContext()
	defer stop()
	res, err := session.Run(ctx, cfg, session.Options{Out: *out, Resume: *resume, Progress: stderr})
	if err != nil {
		return err
	}
	if *out != "" {
		fmt.Fprintf(stdout, "wrote %s (%d steps)\n", *out, res.Steps)
	}
	return nil
}
