package byol

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/byol-lab/byol-lab/core/backend"
	"github.com/byol-lab/byol-lab/core/checkpoint"
	"github.com/byol-lab/byol-lab/core/data"
	"github.com/byol-lab/byol-lab/core/parallel"
)

// checkpointFormat names the layout of a trainer checkpoint. Weights are
// stored as the flat buffers they live in, so a save is a handful of copies;
// the "layout" metadata lists each parameter's name, offset and shape for
// tools that want individual tensors.
const checkpointFormat = "byol-lab-trainer/1"

type paramInfo struct {
	Name  string `json:"name"`
	Off   int    `json:"offset"`
	Shape []int  `json:"shape"`
}

// Save writes the full training state (online and target weights and
// BatchNorm statistics, optimiser state, step and sampler position, config)
// to path atomically. It refuses to save non-finite weights, so a diverged
// run never replaces a good checkpoint.
func (t *Trainer) Save(path string) error {
	if s := t.b.SumSquares(t.online.Params.W); math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
		return fmt.Errorf("byol: not saving %s: weights are not finite", path)
	}
	s1, s2, optSteps := t.opt.State()
	tensors := map[string]checkpoint.Tensor{
		"online.params": t.tensor(t.online.Params.W),
		"online.state":  t.tensor(t.online.Params.S),
		"target.params": t.tensor(t.target.Params.W),
		"target.state":  t.tensor(t.target.Params.S),
		"optim.s1":      t.tensor(s1),
	}
	if s2 != nil {
		tensors["optim.s2"] = t.tensor(s2)
	}
	cfg, err := json.Marshal(t.cfg)
	if err != nil {
		return err
	}
	var layout []paramInfo
	for _, p := range t.online.Params.List {
		layout = append(layout, paramInfo{p.Name, p.Off, p.Shape})
	}
	lj, err := json.Marshal(layout)
	if err != nil {
		return err
	}
	meta := map[string]string{
		"format":      checkpointFormat,
		"step":        strconv.Itoa(t.step),
		"seen":        strconv.FormatUint(t.seen, 10),
		"optim_steps": strconv.Itoa(optSteps),
		"config":      string(cfg),
		"layout":      string(lj),
	}
	return checkpoint.WriteFile(path, tensors, meta)
}

func (t *Trainer) tensor(b backend.Buffer) checkpoint.Tensor {
	h := make([]float32, b.Len())
	t.b.Download(h, b)
	return checkpoint.F32([]int{len(h)}, h)
}

// ReadConfig returns the configuration stored in a checkpoint.
func ReadConfig(path string) (Config, error) {
	_, meta, err := checkpoint.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return configOf(path, meta)
}

func configOf(path string, meta map[string]string) (Config, error) {
	if meta["format"] != checkpointFormat {
		return Config{}, fmt.Errorf("%s: not a byol-lab trainer checkpoint (format %q)", path, meta["format"])
	}
	// Checkpoints from before SimCLR have no method or temperature: they
	// are BYOL runs.
	c := Config{Method: MethodBYOL, Temperature: defaultTemperature}
	if err := json.Unmarshal([]byte(meta["config"]), &c); err != nil {
		return Config{}, fmt.Errorf("%s: bad config metadata: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Resume rebuilds a trainer from a checkpoint so that training continues
// exactly where it stopped.
func Resume(path string, b backend.Backend, pool *parallel.Pool, train *data.Split) (*Trainer, error) {
	tensors, meta, err := checkpoint.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := configOf(path, meta)
	if err != nil {
		return nil, err
	}
	t, err := NewTrainer(cfg, b, pool, train)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s1, s2, _ := t.opt.State()
	restore := map[string]backend.Buffer{
		"online.params": t.online.Params.W, "online.state": t.online.Params.S,
		"target.params": t.target.Params.W, "target.state": t.target.Params.S,
		"optim.s1": s1,
	}
	if s2 != nil {
		restore["optim.s2"] = s2
	}
	for name, buf := range restore {
		tn, ok := tensors[name]
		if !ok {
			return nil, fmt.Errorf("%s: missing tensor %q", path, name)
		}
		v, err := tn.Float32s()
		if err != nil {
			return nil, fmt.Errorf("%s: tensor %q: %w", path, name, err)
		}
		if len(v) != buf.Len() {
			return nil, fmt.Errorf("%s: tensor %q has %d values, the model needs %d", path, name, len(v), buf.Len())
		}
		b.Upload(buf, v)
	}
	step, err1 := strconv.Atoi(meta["step"])
	seen, err2 := strconv.ParseUint(meta["seen"], 10, 64)
	optSteps, err3 := strconv.Atoi(meta["optim_steps"])
	if err1 != nil || err2 != nil || err3 != nil || step < 0 || optSteps < 0 {
		return nil, fmt.Errorf("%s: bad step metadata (step %q, seen %q, optim_steps %q)", path, meta["step"], meta["seen"], meta["optim_steps"])
	}
	t.step, t.seen = step, seen
	t.opt.SetSteps(optSteps)
	return t, nil
}
