package lab

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/byol-lab/byol-lab/core/byol"
	"github.com/byol-lab/byol-lab/core/data"
)

// find returns the run with the given id.
func (l *Lab) find(id string) (*run, error) {
	for _, r := range l.runs {
		if r.id == id {
			return r, nil
		}
	}
	return nil, fmt.Errorf("lab: no run %q", id)
}

// lock takes the work lock for an operation; unlock with l.work.Unlock.
func (l *Lab) lock() error {
	l.work.Lock()
	if l.closed {
		l.work.Unlock()
		return ErrClosed
	}
	return nil
}

// checkName returns a clean run name: trimmed, printable, at most 64
// characters; empty becomes def.
func checkName(name, def string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return def, nil
	}
	if utf8.RuneCountInString(name) > 64 || !utf8.ValidString(name) {
		return "", fmt.Errorf("lab: run name must be valid UTF-8 of at most 64 characters")
	}
	for _, c := range name {
		if !unicode.IsPrint(c) {
			return "", fmt.Errorf("lab: run name %q has a non-printable character", name)
		}
	}
	return name, nil
}

// checkConfig validates cfg for a lab run.
func (l *Lab) checkConfig(cfg *byol.Config) error {
	// Every run trains where the lab does: a config that leaves the device
	// at its default follows the lab; one that asks for another fails.
	if cfg.Device != "cpu" && cfg.Device != l.opt.Device {
		return fmt.Errorf("lab: device %q is not available: this lab runs on %s", cfg.Device, l.opt.Device)
	}
	cfg.Device = l.opt.Device
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	switch {
	case cfg.ProjOut < 2:
		return fmt.Errorf("lab: proj_out %d: the picture needs at least 2 dimensions", cfg.ProjOut)
	case cfg.Batch > l.opt.MaxBatch:
		return fmt.Errorf("lab: batch %d above this lab's limit of %d", cfg.Batch, l.opt.MaxBatch)
	case cfg.Steps < 1:
		return fmt.Errorf("lab: steps %d must be ≥ 1", cfg.Steps)
	}
	return nil
}

// loadDataset returns the dataset a run config needs. It may take seconds
// (shapes renders 22000 images), so callers avoid holding the work lock
// while runs are stepping.
func (l *Lab) loadDataset(cfg *byol.Config) (*data.Dataset, error) {
	if l.opt.Data != nil && strings.EqualFold(l.opt.Data.Name, cfg.Dataset) {
		return l.opt.Data, nil
	}
	o := l.opt.DataOptions
	if cfg.DataDir != "" {
		o.DataDir = cfg.DataDir
	}
	return data.Load(cfg.Dataset, o)
}

// useDataset makes ds the lab's dataset; the probe and bank follow it.
// Runs must be empty or already on ds.
func (l *Lab) useDataset(ds *data.Dataset) {
	if l.ds == ds {
		return
	}
	probe, bank, bankY := newProbe(ds, l.opt.ProbeSize, l.opt.BankSize)
	l.ds, l.bank, l.bankY = ds, bank, bankY
	l.mu.Lock()
	l.probe = probe
	l.mu.Unlock()
	l.publish(ProbeChanged{Probe: probe})
}

// datasetFor returns the dataset for cfg, loading it when the lab has none
// or another one and no runs. Called with the work lock held.
func (l *Lab) datasetFor(cfg *byol.Config) (*data.Dataset, error) {
	if l.ds != nil && strings.EqualFold(l.ds.Name, cfg.Dataset) {
		return l.ds, nil
	}
	if len(l.runs) > 0 {
		return nil, fmt.Errorf("lab: the runs are on %s; a run on %s needs a preset for that dataset", l.ds.Name, cfg.Dataset)
	}
	return l.loadDataset(cfg)
}

// newTrainer builds a trainer, turning a panic into an error.
func (l *Lab) newTrainer(cfg byol.Config, ds *data.Dataset) (t *byol.Trainer, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("lab: building the trainer: %v", p)
		}
	}()
	return byol.NewTrainer(cfg, l.b, l.pool, ds.Train)
}

// add appends a new run, or inserts it after `after` and its forks.
func (l *Lab) add(r *run, after *run) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r.refreshInfo()
	pos := len(l.runs)
	for i, o := range l.runs {
		if o == after {
			pos = i + 1
			for pos < len(l.runs) && l.runs[pos].parent == after.id {
				pos++ // after the earlier forks of the same parent
			}
		}
	}
	l.runs = append(l.runs[:pos], append([]*run{r}, l.runs[pos:]...)...)
}

func (l *Lab) newID() string {
	l.nextID++
	return fmt.Sprintf("r%d", l.nextID)
}

// Create adds a run of cfg, paused at step 0 (Resume or Step starts it),
// and returns its id. The first run chooses the lab's dataset; later ones
// must use the same.
func (l *Lab) Create(name string, cfg byol.Config) (string, error) {
	if err := l.lock(); err != nil {
		return "", err
	}
	defer l.work.Unlock()
	if len(l.runs) >= l.opt.MaxRuns {
		return "", fmt.Errorf("lab: already %d runs (the limit); delete one first", len(l.runs))
	}
	if err := l.checkConfig(&cfg); err != nil {
		return "", err
	}
	ds, err := l.datasetFor(&cfg)
	if err != nil {
		return "", err
	}
	if err := cfg.Augment.Validate(ds.Train.C); err != nil {
		return "", fmt.Errorf("lab: %w", err)
	}
	id := l.newID()
	if name, err = checkName(name, id); err != nil {
		return "", err
	}
	t, err := l.newTrainer(cfg, ds)
	if err != nil {
		return "", err
	}
	l.useDataset(ds)
	r := newRun(id, name, t, Paused)
	l.add(r, nil)
	l.notice(r, NoticeCreated, fmt.Sprintf("created %s (%s, %s, batch %d)", r.label(), cfg.Dataset, cfg.Arch, cfg.Batch))
	l.publishRuns()
	l.signal()
	return id, nil
}

// Pause stops a run after its current step. Pausing a paused run does
// nothing.
func (l *Lab) Pause(id string) error {
	if err := l.lock(); err != nil {
		return err
	}
	defer l.work.Unlock()
	r, err := l.find(id)
	if err != nil {
		return err
	}
	r.remaining = 0
	if r.state != Running {
		return nil
	}
	r.state = Paused
	l.notice(r, NoticePaused, fmt.Sprintf("%s paused at step %d", r.label(), r.t.StepCount()))
	l.publishRuns()
	l.signal()
	return nil
}

// Resume lets a paused (or diverged) run step until paused.
func (l *Lab) Resume(id string) error {
	return l.start(id, 0)
}

// Step runs exactly n more steps of a run, then pauses it.
func (l *Lab) Step(id string, n int) error {
	if n < 1 || n > maxSteps {
		return fmt.Errorf("lab: step count %d outside [1, %d]", n, maxSteps)
	}
	return l.start(id, n)
}

func (l *Lab) start(id string, n int) error {
	if err := l.lock(); err != nil {
		return err
	}
	defer l.work.Unlock()
	r, err := l.find(id)
	if err != nil {
		return err
	}
	cfg := r.t.Config()
	if left := cfg.Steps - r.t.StepCount(); left <= 0 {
		return fmt.Errorf("lab: %s is at its last step (%d); raise steps to go on", r.label(), cfg.Steps)
	} else if n > left {
		return fmt.Errorf("lab: %s has %d steps left of %d; raise steps to go further", r.label(), left, cfg.Steps)
	}
	was := r.state
	r.state, r.remaining = Running, n
	if n > 0 {
		l.notice(r, NoticeResumed, fmt.Sprintf("%s steps %d from step %d", r.label(), n, r.t.StepCount()))
	} else if was != Running {
		l.notice(r, NoticeResumed, fmt.Sprintf("%s resumed at step %d", r.label(), r.t.StepCount()))
	}
	if was != Running {
		l.publishRuns()
	}
	l.signal()
	return nil
}

// Reset re-initialises a run from its seed at step 0, keeping its current
// configuration (knobs included) and whether it runs.
func (l *Lab) Reset(id string) error {
	if err := l.lock(); err != nil {
		return err
	}
	defer l.work.Unlock()
	r, err := l.find(id)
	if err != nil {
		return err
	}
	t, err := l.newTrainer(r.t.Config(), l.ds)
	if err != nil {
		return err
	}
	r.reset(t)
	if r.state == Diverged {
		r.state = Paused
	}
	l.notice(r, NoticeReset, fmt.Sprintf("%s reset to step 0", r.label()))
	l.publishRuns()
	l.signal()
	return nil
}

// Fork adds a copy of a run in exactly its current state (weights,
// optimiser, step, sampler position, target network), with the knob change
// k applied, right after it in the list, and returns its id. The fork runs
// if the parent runs, including what remains of a Step request. With no
// change it continues exactly as the parent does.
func (l *Lab) Fork(id, name string, k Knobs) (string, error) {
	if err := l.lock(); err != nil {
		return "", err
	}
	defer l.work.Unlock()
	p, err := l.find(id)
	if err != nil {
		return "", err
	}
	if len(l.runs) >= l.opt.MaxRuns {
		return "", fmt.Errorf("lab: already %d runs (the limit); delete one first", len(l.runs))
	}
	cfg := p.t.Config()
	if err := k.applyTo(&cfg); err != nil {
		return "", fmt.Errorf("lab: %w", err)
	}
	if err := l.checkConfig(&cfg); err != nil {
		return "", err
	}
	newID := l.newID()
	if name, err = checkName(name, p.name+" (fork)"); err != nil {
		return "", err
	}
	t, err := func() (t *byol.Trainer, err error) {
		defer func() {
			if x := recover(); x != nil {
				err = fmt.Errorf("lab: cloning %s: %v", p.label(), x)
			}
		}()
		if t, err = p.t.Clone(); err != nil {
			return nil, err
		}
		return t, t.Apply(cfg)
	}()
	if err != nil {
		return "", err
	}
	state := p.state
	if state == Diverged {
		state = Paused
	}
	r := newRun(newID, name, t, state)
	r.remaining = p.remaining
	r.parent, r.forkStep = p.id, t.StepCount()
	// The fork starts from the parent's picture: same axes, same
	// collapse state, so the two diverge visibly from one frame.
	r.pca, r.collapsed, r.spread = p.pca, p.collapsed, p.spread
	l.add(r, p)
	l.notice(r, NoticeForked, fmt.Sprintf("%s forked from %s at step %d: %s", r.label(), p.label(), t.StepCount(), k.String()))
	l.publishRuns()
	l.signal()
	return newID, nil
}

// Delete removes a run.
func (l *Lab) Delete(id string) error {
	if err := l.lock(); err != nil {
		return err
	}
	defer l.work.Unlock()
	r, err := l.find(id)
	if err != nil {
		return err
	}
	l.remove(r)
	l.notice(r, NoticeDeleted, fmt.Sprintf("deleted %s", r.label()))
	l.publishRuns()
	return nil
}

func (l *Lab) remove(r *run) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, o := range l.runs {
		if o == r {
			// The preceding run becomes "last", so round-robin goes on
			// with the one after the deleted run.
			if l.last == r {
				l.last = nil
				if i > 0 {
					l.last = l.runs[i-1]
				} else if len(l.runs) > 1 {
					l.last = l.runs[len(l.runs)-1]
				}
			}
			l.runs = append(l.runs[:i], l.runs[i+1:]...)
			return
		}
	}
}

// Set changes live knobs of a run from its next step. An invalid value is
// an error and changes nothing.
func (l *Lab) Set(id string, k Knobs) error {
	if err := l.lock(); err != nil {
		return err
	}
	defer l.work.Unlock()
	r, err := l.find(id)
	if err != nil {
		return err
	}
	cfg := r.t.Config()
	if err := k.applyTo(&cfg); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	if err := l.checkConfig(&cfg); err != nil {
		return err
	}
	if err := r.t.Apply(cfg); err != nil {
		return fmt.Errorf("lab: %w", err)
	}
	l.notice(r, NoticeSet, fmt.Sprintf("%s at step %d: %s", r.label(), r.t.StepCount(), k.String()))
	l.publishRuns()
	l.signal()
	return nil
}

// Rename changes a run's display name.
func (l *Lab) Rename(id, name string) error {
	if err := l.lock(); err != nil {
		return err
	}
	defer l.work.Unlock()
	r, err := l.find(id)
	if err != nil {
		return err
	}
	if name, err = checkName(name, r.id); err != nil {
		return err
	}
	r.name = name
	l.publishRuns()
	return nil
}

// LoadPreset replaces all runs by those of a preset: a built-in name (see
// PresetNames) or a YAML file. The runs start running unless the preset
// says paused. On error the lab is unchanged.
func (l *Lab) LoadPreset(nameOrFile string) error {
	p, err := ReadPreset(nameOrFile)
	if err != nil {
		return err
	}
	return l.UsePreset(p)
}

// UsePreset replaces all runs by those of p.
func (l *Lab) UsePreset(p *Preset) error {
	if len(p.Runs) > l.opt.MaxRuns {
		return fmt.Errorf("lab: preset %s has %d runs, more than this lab's limit of %d", p.Name, len(p.Runs), l.opt.MaxRuns)
	}
	if len(p.Runs) == 0 {
		return fmt.Errorf("lab: preset %s has no runs", p.Name)
	}
	for i := range p.Runs {
		if d := p.Runs[i].Config.Dataset; !strings.EqualFold(d, p.Runs[0].Config.Dataset) {
			return fmt.Errorf("lab: preset %s mixes datasets %s and %s", p.Name, p.Runs[0].Config.Dataset, d)
		}
		if err := l.checkConfig(&p.Runs[i].Config); err != nil {
			return fmt.Errorf("lab: preset %s, run %q: %w", p.Name, p.Runs[i].Name, err)
		}
	}
	// A new dataset is loaded before taking the lock, so the current runs
	// keep stepping meanwhile.
	if err := l.lock(); err != nil {
		return err
	}
	ds := l.ds
	l.work.Unlock()
	cfg0 := p.Runs[0].Config
	if ds == nil || !strings.EqualFold(ds.Name, cfg0.Dataset) {
		var err error
		if ds, err = l.loadDataset(&cfg0); err != nil {
			return err
		}
	}
	if err := l.lock(); err != nil {
		return err
	}
	defer l.work.Unlock()
	state := Running
	if p.Paused {
		state = Paused
	}
	fresh := make([]*run, len(p.Runs))
	ids := l.nextID
	for i, pr := range p.Runs {
		if err := pr.Config.Augment.Validate(ds.Train.C); err != nil {
			return fmt.Errorf("lab: preset %s, run %q: %w", p.Name, pr.Name, err)
		}
		t, err := l.newTrainer(pr.Config, ds)
		if err != nil {
			return fmt.Errorf("lab: preset %s, run %q: %w", p.Name, pr.Name, err)
		}
		ids++
		id := fmt.Sprintf("r%d", ids)
		name, err := checkName(pr.Name, id)
		if err != nil {
			return fmt.Errorf("lab: preset %s: %w", p.Name, err)
		}
		fresh[i] = newRun(id, name, t, state)
	}
	l.nextID = ids
	l.mu.Lock()
	l.runs, l.last = nil, nil
	l.mu.Unlock()
	l.useDataset(ds)
	for _, r := range fresh {
		l.add(r, nil)
	}
	names := make([]string, len(fresh))
	for i, r := range fresh {
		names[i] = r.label()
	}
	l.notice(nil, NoticePreset, fmt.Sprintf("preset %s on %s: %s", p.Name, ds.Name, strings.Join(names, ", ")))
	l.publishRuns()
	l.signal()
	return nil
}
