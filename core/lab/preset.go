package lab

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/byol-lab/byol-lab/core/byol"
)

// A preset is a lesson: a dataset and a few runs to compare, as YAML.
//
//	description: what to look at (shown to the class)
//	dataset: shapes          # default shapes; all runs share it
//	paused: false            # true: the runs wait for Resume
//	base:                    # byol.Config keys over lab.Defaults(dataset), for every run
//	  batch: 64
//	runs:
//	  - name: BYOL
//	  - name: no predictor
//	    config:              # byol.Config keys over base, for this run
//	      predictor: false
//	    augment_off: [jitter]  # augmentations switched off in both views
//
// Keys are checked strictly: an unknown or misspelt key is an error. Maps
// merge key by key (optimizer: {name: sgd} keeps the other optimiser
// settings), but a list replaces the whole list, so switch augmentations
// off with augment_off rather than by rewriting augment.views.

//go:embed presets/*.yaml
var presetFiles embed.FS

// DefaultPreset is the preset a lab starts with.
const DefaultPreset = "collapse"

// maxPresetRuns bounds a preset's runs whatever the lab's limit.
const maxPresetRuns = 16

// Preset is a parsed preset: every run's full configuration.
type Preset struct {
	Name        string
	Description string
	Dataset     string
	Paused      bool
	Runs        []PresetRun
}

// PresetRun is one run of a preset.
type PresetRun struct {
	Name   string
	Config byol.Config
}

// PresetNames lists the built-in presets, sorted.
func PresetNames() []string {
	entries, err := fs.ReadDir(presetFiles, "presets")
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// ReadPreset returns a built-in preset by name, or reads a preset file.
func ReadPreset(nameOrFile string) (*Preset, error) {
	if slices.Contains(PresetNames(), nameOrFile) {
		raw, err := presetFiles.ReadFile("presets/" + nameOrFile + ".yaml")
		if err != nil {
			return nil, err
		}
		return ParsePreset(nameOrFile, raw)
	}
	f, err := os.Open(nameOrFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("lab: no preset %q: not a built-in one (%s) nor a file", nameOrFile, strings.Join(PresetNames(), ", "))
		}
		return nil, fmt.Errorf("lab: preset: %w", err)
	}
	defer f.Close()
	// A preset is a few lines; a megabyte is a wrong file.
	raw, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return nil, fmt.Errorf("lab: preset: %w", err)
	}
	if len(raw) > 1<<20 {
		return nil, fmt.Errorf("lab: preset %s is larger than 1 MiB", nameOrFile)
	}
	name := strings.TrimSuffix(filepath.Base(nameOrFile), filepath.Ext(nameOrFile))
	return ParsePreset(name, raw)
}

// ParsePreset parses preset YAML (see the format above).
func ParsePreset(name string, raw []byte) (*Preset, error) {
	p, err := parsePreset(name, raw)
	if err != nil {
		return nil, fmt.Errorf("lab: preset %s: %w", name, err)
	}
	return p, nil
}

func parsePreset(name string, raw []byte) (*Preset, error) {
	// Pass 1 decodes strictly into typed configs, which finds unknown keys
	// and wrong types with their line numbers; pass 2 keeps the raw nodes
	// so that each run's keys go over the defaults and the base rather than
	// over zero values.
	type strictRun struct {
		Name       string      `yaml:"name"`
		Config     byol.Config `yaml:"config"`
		AugmentOff []string    `yaml:"augment_off"`
	}
	var strict struct {
		Description string      `yaml:"description"`
		Dataset     string      `yaml:"dataset"`
		Paused      bool        `yaml:"paused"`
		Base        byol.Config `yaml:"base"`
		Runs        []strictRun `yaml:"runs"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&strict); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty")
		}
		return nil, err
	}
	type nodeRun struct {
		Name       string    `yaml:"name"`
		Config     yaml.Node `yaml:"config"`
		AugmentOff []string  `yaml:"augment_off"`
	}
	var file struct {
		Base yaml.Node `yaml:"base"`
		Runs []nodeRun `yaml:"runs"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		return nil, err
	}

	p := &Preset{Name: name, Description: strings.TrimSpace(strict.Description), Dataset: strict.Dataset, Paused: strict.Paused}
	if p.Dataset == "" {
		p.Dataset = "shapes"
	}
	if len(file.Runs) == 0 {
		return nil, errors.New("no runs (want a list under runs:)")
	}
	if len(file.Runs) > maxPresetRuns {
		return nil, fmt.Errorf("%d runs, at most %d", len(file.Runs), maxPresetRuns)
	}
	base, err := Defaults(p.Dataset)
	if err != nil {
		return nil, err
	}
	if err := decodeOver(&file.Base, &base); err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	if base.Dataset != p.Dataset {
		return nil, fmt.Errorf("base sets dataset %q: set it at the top level", base.Dataset)
	}
	seen := map[string]bool{}
	for i, fr := range file.Runs {
		rn := strings.TrimSpace(fr.Name)
		if rn == "" {
			return nil, fmt.Errorf("run %d has no name", i+1)
		}
		if seen[rn] {
			return nil, fmt.Errorf("two runs are named %q", rn)
		}
		seen[rn] = true
		cfg := base
		cfg.Augment.Normalize.Mean = slices.Clone(base.Augment.Normalize.Mean)
		cfg.Augment.Normalize.Std = slices.Clone(base.Augment.Normalize.Std)
		if err := decodeOver(&fr.Config, &cfg); err != nil {
			return nil, fmt.Errorf("run %q: %w", rn, err)
		}
		if cfg.Dataset != p.Dataset {
			return nil, fmt.Errorf("run %q sets dataset %q: all runs share the preset's dataset %q", rn, cfg.Dataset, p.Dataset)
		}
		for _, t := range fr.AugmentOff {
			if err := cfg.Augment.Disable(t); err != nil {
				return nil, fmt.Errorf("run %q: augment_off: %w", rn, err)
			}
		}
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("run %q: %w", rn, err)
		}
		p.Runs = append(p.Runs, PresetRun{Name: rn, Config: cfg})
	}
	return p, nil
}

// decodeOver decodes the mapping n over the values already in c. An
// absent or null node changes nothing (a null would zero c).
func decodeOver(n *yaml.Node, c *byol.Config) error {
	if n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping of config keys", n.Line)
	}
	return n.Decode(c)
}
