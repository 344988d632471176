package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/report"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestUsageAndUnknownCommand(t *testing.T) {
	// No arguments serve the lab: see TestServeFlagsAndDispatch.
	if code, out, _ := runCLI("help"); code != 0 || !strings.Contains(out, "train") {
		t.Errorf("help: code %d, stdout %q", code, out)
	}
	if code, _, errOut := runCLI("fly"); code != 2 || !strings.Contains(errOut, `unknown command "fly"`) {
		t.Errorf("unknown command: code %d, stderr %q", code, errOut)
	}
}

func TestBadFlagsAreClearErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--batch", "0"}, "batch 0"},
		{[]string{"train", "--lr", "NaN"}, "lr NaN"},
		{[]string{"train", "--lr", "-1"}, "lr -1"},
		{[]string{"train", "--tau-base", "1.5"}, "tau_base 1.5"},
		{[]string{"train", "--arch", "vgg"}, `unknown arch "vgg"`},
		{[]string{"train", "--dataset", "imagenet"}, "imagenet"},
		{[]string{"train", "--optimizer", "rmsprop"}, "rmsprop"},
		{[]string{"train", "--device", "tpu"}, "tpu"},
		{[]string{"train", "--method", "moco"}, `method "moco"`},
		{[]string{"train", "--method", "simclr", "--temperature", "0"}, "temperature 0"},
		{[]string{"train", "--config", "/does/not/exist.yaml"}, "exist.yaml"},
		{[]string{"train", "extra"}, "unexpected arguments"},
	} {
		code, _, errOut := runCLI(tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: code %d, stderr %q; want an error mentioning %q", tc.args, code, errOut, tc.want)
		}
	}
}

func TestConfigFileAndFlagPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "run.yaml")
	yaml := "dataset: shapes\nbatch: 12\nsteps: 99\nproj_out: 16\nproj_hidden: 32\npred_hidden: 32\n" +
		"eval: {bank_size: 100, query_size: 40, metric_size: 40, k: 5, temp: 0.07}\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	// --steps on the command line overrides the file's 99.
	code, _, errOut := runCLI("train", "--config", cfgPath, "--steps", "2", "--eval-every", "0", "--out", out)
	if code != 0 {
		t.Fatalf("train failed: %s", errOut)
	}
	recs, err := report.ReadJSONL(filepath.Join(out, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if last := recs[len(recs)-1]; last["step"] != 2 {
		t.Errorf("last record at step %v, want 2 (flag over file)", last["step"])
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("batchsize: 12\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI("train", "--config", bad); code != 1 || !strings.Contains(errOut, "batchsize") {
		t.Errorf("unknown key: code %d, stderr %q", code, errOut)
	}
	garbage := filepath.Join(dir, "garbage.yaml")
	if err := os.WriteFile(garbage, []byte("batch: [1, 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI("train", "--config", garbage); code != 1 || !strings.Contains(errOut, "garbage.yaml") {
		t.Errorf("malformed YAML: code %d, stderr %q", code, errOut)
	}
}

func TestMethodFlags(t *testing.T) {
	parse := func(args ...string) byol.Config {
		t.Helper()
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		var cf configFlags
		cf.register(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		c, err := cf.build(fs)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := parse(); c.Method != "byol" {
		t.Errorf("default method %q, want byol", c.Method)
	}
	if c := parse("--method", "simclr", "--temperature", "0.1"); c.Method != "simclr" || c.Temperature != 0.1 {
		t.Errorf("--method simclr --temperature 0.1 gave %q, %v", c.Method, c.Temperature)
	}
	// A file's method holds unless a flag overrides it.
	path := filepath.Join(t.TempDir(), "simclr.yaml")
	if err := os.WriteFile(path, []byte("method: simclr\ntemperature: 0.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := parse("--config", path); c.Method != "simclr" || c.Temperature != 0.5 {
		t.Errorf("config file: method %q, temperature %v", c.Method, c.Temperature)
	}
	if c := parse("--config", path, "--method", "byol"); c.Method != "byol" {
		t.Errorf("--method over the file gave %q", c.Method)
	}
}

// TestBenchConvNeedsCUDA: --conv on the CPU is refused with a clear message.
func TestBenchConvNeedsCUDA(t *testing.T) {
	code, _, errOut := runCLI("bench", "--conv", "implicit", "--batch", "8", "--timed", "1")
	if code == 0 || !strings.Contains(errOut, "--conv needs --device cuda") {
		t.Errorf("code %d, stderr %q", code, errOut)
	}
}
