package lab

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestBuiltinPresets(t *testing.T) {
	names := PresetNames()
	for _, want := range []string{"augment", "batch", "collapse", "tau"} {
		if !slices.Contains(names, want) {
			t.Fatalf("built-in presets %v lack %s", names, want)
		}
	}
	if !slices.Contains(names, DefaultPreset) {
		t.Fatalf("default preset %s is not built in", DefaultPreset)
	}
	presets := map[string]*Preset{}
	for _, name := range names {
		p, err := ReadPreset(name)
		if err != nil {
			t.Fatal(err)
		}
		if p.Dataset != "shapes" || len(p.Runs) < 2 || p.Description == "" || p.Paused {
			t.Fatalf("preset %s: %+v", name, p)
		}
		for _, r := range p.Runs {
			c := r.Config
			if err := c.Validate(); err != nil || c.Arch != "tiny" || c.Dataset != "shapes" {
				t.Fatalf("preset %s run %s: %v %+v", name, r.Name, err, c)
			}
		}
		presets[name] = p
	}
	type row struct {
		name string
		pred bool
		tau  float64
		tauS string
		bat  int
		jit  bool
	}
	check := func(preset string, want []row) {
		t.Helper()
		p := presets[preset]
		if len(p.Runs) != len(want) {
			t.Fatalf("%s: %d runs", preset, len(p.Runs))
		}
		for i, w := range want {
			r := p.Runs[i]
			k := knobValues(&r.Config)
			if r.Name != w.name || k.Predictor != w.pred || k.TauBase != w.tau || k.TauSchedule != w.tauS || k.Batch != w.bat || k.Augment["jitter"] != w.jit {
				t.Errorf("%s run %d: %s %+v, want %+v", preset, i, r.Name, k, w)
			}
		}
	}
	check("collapse", []row{{"BYOL", true, 0.99, "cosine", 64, true}, {"no predictor", false, 0.99, "cosine", 64, true}})
	check("tau", []row{{"τ = 0", true, 0, "constant", 64, true}, {"τ = 0.99", true, 0.99, "constant", 64, true}, {"τ = 1", true, 1, "constant", 64, true}})
	check("augment", []row{{"all augmentations", true, 0.99, "cosine", 64, true}, {"no colour jitter", true, 0.99, "cosine", 64, false}})
	check("batch", []row{{"batch 16", true, 0.99, "cosine", 16, true}, {"batch 64", true, 0.99, "cosine", 64, true}, {"batch 256", true, 0.99, "cosine", 256, true}})
	// Runs do not share slices: changing one run's config leaves the others.
	c := presets["collapse"].Runs
	c[0].Config.Augment.Normalize.Mean[0] = 7
	if c[1].Config.Augment.Normalize.Mean[0] == 7 {
		t.Fatal("preset runs share the normalisation slices")
	}
}

func TestPresetErrors(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"malformed":         {"runs: [\n  - name: a\n", "yaml"},
		"empty":             {"", "empty"},
		"no runs":           {"dataset: shapes\n", "no runs"},
		"unknown top key":   {"datset: shapes\nruns:\n  - name: a\n", "datset"},
		"unknown base key":  {"base:\n  learning_rate: 0.1\nruns:\n  - name: a\n", "learning_rate"},
		"unknown run key":   {"runs:\n  - name: a\n    config:\n      predictr: false\n", "predictr"},
		"unknown nested":    {"runs:\n  - name: a\n    config:\n      optimizer: {nme: sgd}\n", "nme"},
		"unknown run field": {"runs:\n  - name: a\n    colour: red\n", "colour"},
		"wrong type":        {"runs:\n  - name: a\n    config:\n      batch: lots\n", "lots"},
		"invalid value":     {"runs:\n  - name: a\n    config:\n      tau_base: 2\n", "tau_base"},
		"unknown dataset":   {"dataset: imagenet\nruns:\n  - name: a\n", "imagenet"},
		"dataset in run":    {"runs:\n  - name: a\n    config:\n      dataset: mnist\n", "share"},
		"unnamed run":       {"runs:\n  - config: {batch: 8}\n", "no name"},
		"duplicate names":   {"runs:\n  - name: a\n  - name: a\n", "two runs"},
		"unknown augment":   {"runs:\n  - name: a\n    augment_off: [mixup]\n", "mixup"},
		"config not a map":  {"runs:\n  - name: a\n    config: 3\n", "cannot unmarshal"},
	} {
		_, err := ParsePreset("bad", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "preset bad") {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, tc.want)
		}
	}
	// Errors point at the line.
	_, err := ParsePreset("bad", []byte("runs:\n  - name: a\n    config:\n      predictr: false\n"))
	if err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("unknown key error without its line: %v", err)
	}
	if _, err := ReadPreset("no-such-preset"); err == nil || !strings.Contains(err.Error(), "collapse") {
		t.Errorf("unknown preset: %v (should list the built-in ones)", err)
	}
}

func TestPresetFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.yaml")
	src := `description: two learning rates
paused: true
base:
  arch: mlp
  batch: 16
  proj_hidden: 32
  proj_out: 16
  pred_hidden: 32
  optimizer: {name: adamw, weight_decay: 0.01}
runs:
  - name: slow
    config: {lr: 0.0001}
  - name: fast
    config: {lr: 0.01}
    augment_off: [blur, solarize]
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := ReadPreset(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "mine" || !p.Paused || p.Dataset != "shapes" || len(p.Runs) != 2 {
		t.Fatalf("%+v", p)
	}
	slow, fast := p.Runs[0].Config, p.Runs[1].Config
	if slow.LR != 0.0001 || fast.LR != 0.01 || slow.Batch != 16 || fast.ProjOut != 16 || slow.Arch != "mlp" {
		t.Fatalf("overrides lost: %+v %+v", slow, fast)
	}
	// Maps merge: the optimiser keeps Adam's betas next to the new name.
	if o := slow.Optimizer; o.Name != "adamw" || o.WeightDecay != 0.01 || o.Beta2 != 0.999 {
		t.Fatalf("optimizer %+v", o)
	}
	kf, ks := knobValues(&fast), knobValues(&slow)
	if kf.Augment["blur"] || kf.Augment["solarize"] || !kf.Augment["jitter"] || !ks.Augment["blur"] {
		t.Fatalf("augment_off: fast %v slow %v", kf.Augment, ks.Augment)
	}

	// Loading it replaces the lab's runs; paused: true keeps them waiting.
	l, rec := newTestLab(t, Options{})
	old := create(t, l, "old", testConfig(t))
	if err := l.LoadPreset(path); err != nil {
		t.Fatal(err)
	}
	rs := l.Runs()
	if len(rs) != 2 || rs[0].Name != "slow" || rs[1].Name != "fast" || rs[0].State != Paused || rs[0].ID == old {
		t.Fatalf("runs after the preset: %+v", rs)
	}
	if len(rec.notices("", NoticePreset)) != 1 {
		t.Fatal("no preset notice")
	}
	if err := l.LoadPreset(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("missing preset file accepted")
	}
	if len(l.Runs()) != 2 {
		t.Fatal("a failed preset load changed the runs")
	}
}

func TestLoadBuiltinPreset(t *testing.T) {
	l, _ := newTestLab(t, Options{})
	if err := l.LoadPreset(DefaultPreset); err != nil {
		t.Fatal(err)
	}
	rs := l.Runs()
	for _, r := range rs {
		if err := l.Pause(r.ID); err != nil {
			t.Fatal(err)
		}
	}
	if len(rs) != 2 || rs[0].Name != "BYOL" || rs[1].Name != "no predictor" || rs[0].State != Running || rs[1].Knobs.Predictor {
		t.Fatalf("collapse preset: %+v", rs)
	}
	if p := l.Probe(); p == nil || p.N != 64 || len(p.Labels) != 2 || len(p.Pix) != 64*3*16*16 || p.H != 16 {
		t.Fatalf("probe: %+v", p)
	}
}
