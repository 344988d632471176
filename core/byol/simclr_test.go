package byol

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/byol-lab/byol-lab/core/backend/cpu"
	"github.com/byol-lab/byol-lab/core/parallel"
)

func simclrConfig(t *testing.T) Config {
	t.Helper()
	c := tinyConfig(t)
	c.Method = MethodSimCLR
	return c
}

// mirrors reports whether the target is an exact copy of the online encoder
// and projector, weights and BatchNorm statistics.
func mirrors(tr *Trainer) bool {
	on, tg := params(tr)
	s, ts := cpu.Data(tr.online.Params.S), cpu.Data(tr.target.Params.S)
	return slices.Equal(on[:len(tg)], tg) && slices.Equal(s[:len(ts)], ts)
}

func TestSimCLRTrains(t *testing.T) {
	c := simclrConfig(t)
	tr := newTrainer(t, c, tinySplit(64))
	before, _ := params(tr)
	var losses []float64
	for range 30 {
		steps(t, tr, 1)
		losses = append(losses, tr.LastLoss())
	}
	// An untrained network does not yet pick the positive out: the loss is
	// near chance, log(2B−1), the value for random embeddings (pinned on the
	// op by TestInfoNCEOfRandomEmbeddings). It sits a little above it: the
	// network's cosines spread more than random high-dimensional ones, and
	// log-sum-exp exceeds log(2B−1) by about half the logits' variance
	// (Jensen). Measured here: +0.56 nats at B = 8 (+0.3 at B = 32).
	chance := math.Log(float64(2*c.Batch - 1))
	if losses[0] < chance-0.1 || losses[0] > chance+0.75 {
		t.Errorf("loss at init %.4f, want near log(2B−1) = %.4f", losses[0], chance)
	}
	first := (losses[0] + losses[1] + losses[2]) / 3
	last := (losses[27] + losses[28] + losses[29]) / 3
	t.Logf("loss %.4f → %.4f (chance %.4f)", first, last, chance)
	if !(last < first-0.1) {
		t.Errorf("loss did not decrease: %.4f over the first steps, %.4f over the last", first, last)
	}
	if !mirrors(tr) {
		t.Error("the target is not a copy of the online network after a SimCLR step")
	}
	if tr.Tau() != 0 {
		t.Errorf("SimCLR reports τ = %v, want 0 (copied target)", tr.Tau())
	}
	after, _ := params(tr)
	for _, p := range tr.online.Params.List {
		same := slices.Equal(before[p.Off:p.Off+p.Len()], after[p.Off:p.Off+p.Len()])
		if isPredictor(p) && !same {
			t.Fatalf("SimCLR trained the predictor (%s)", p.Name)
		}
	}
}

// TestInfoNCEOfRandomEmbeddings pins the chance level the trainer test
// relies on, on the op itself: nearly orthogonal rows give log(2B−1).
func TestInfoNCEOfRandomEmbeddings(t *testing.T) {
	pool := parallel.New(2)
	defer pool.Close()
	b := cpu.New(pool)
	const rows, d = 32, 2048
	z := b.Alloc(rows * d)
	r := rand.New(rand.NewPCG(5, 6))
	for i := range cpu.Data(z) {
		cpu.Data(z)[i] = float32(r.NormFloat64())
	}
	loss := b.Alloc(1)
	b.InfoNCELoss(z, b.Alloc(rows*d), loss, rows, d, rows/2, 0.2, 1.0/rows)
	// cos ~ N(0, 1/d): log-sum-exp exceeds log(2B−1) by about
	// ½·Var(cos/T) = 1/(2·d·T²) ≈ 0.006.
	want := math.Log(rows - 1)
	if got := float64(cpu.Data(loss)[0]); math.Abs(got-want) > 0.05 {
		t.Errorf("NT-Xent of random embeddings %.4f, want ≈ log(2B−1) = %.4f", got, want)
	}
}

func TestSimCLRSameSeedIsBitIdentical(t *testing.T) {
	s := tinySplit(50)
	a, b := newTrainer(t, simclrConfig(t), s), newTrainer(t, simclrConfig(t), s)
	steps(t, a, 4)
	steps(t, b, 4)
	ao, at := params(a)
	bo, bt := params(b)
	if !slices.Equal(ao, bo) || !slices.Equal(at, bt) || a.LastLoss() != b.LastLoss() {
		t.Fatal("two SimCLR runs with the same seed and config differ")
	}
	c := simclrConfig(t)
	c.Seed = 1
	d := newTrainer(t, c, s)
	steps(t, d, 4)
	if do, _ := params(d); slices.Equal(ao, do) {
		t.Fatal("a different seed gave the same weights")
	}
	// The same seed under BYOL starts from the same weights but trains
	// differently: the method is not a no-op.
	e := newTrainer(t, tinyConfig(t), s)
	steps(t, e, 4)
	if eo, _ := params(e); slices.Equal(ao, eo) {
		t.Fatal("BYOL and SimCLR steps gave the same weights")
	}
}

func TestSimCLRResumeAndNoAllocs(t *testing.T) {
	s := tinySplit(20)
	full := newTrainer(t, simclrConfig(t), s)
	steps(t, full, 6)
	part := newTrainer(t, simclrConfig(t), s)
	steps(t, part, 3)
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	if err := part.Save(path); err != nil {
		t.Fatal(err)
	}
	pool := parallel.New(2)
	defer pool.Close()
	resumed, err := Resume(path, cpu.New(pool), pool, s)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Config().Method != MethodSimCLR {
		t.Fatalf("resumed as %q", resumed.Config().Method)
	}
	steps(t, resumed, 3)
	fo, _ := params(full)
	ro, _ := params(resumed)
	if !slices.Equal(fo, ro) || full.LastLoss() != resumed.LastLoss() {
		t.Fatal("resumed SimCLR run differs from the uninterrupted one")
	}
	allocs := testing.AllocsPerRun(5, func() {
		if err := full.Step(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a SimCLR step allocated %v times, want 0", allocs)
	}
}

func TestMethodValidation(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Method = "moco" }, `method "moco"`},
		{func(c *Config) { c.Method = "" }, `method ""`},
		{func(c *Config) { c.Temperature = 0 }, "temperature 0"},
		{func(c *Config) { c.Temperature = -0.1 }, "temperature -0.1"},
		{func(c *Config) { c.Temperature = math.NaN() }, "temperature NaN"},
		{func(c *Config) { c.Method, c.Batch = MethodSimCLR, 5000 }, "batch 5000"},
	} {
		c := tinyConfig(t)
		tc.edit(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error mentioning %q", err, tc.want)
		}
	}
	c := tinyConfig(t)
	if c.Method != MethodBYOL || c.Temperature != defaultTemperature {
		t.Errorf("defaults: method %q, temperature %v", c.Method, c.Temperature)
	}
	c.Batch = 5000 // large batches stay legal for BYOL
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func TestApplyRefusesMethodChange(t *testing.T) {
	tr := newTrainer(t, simclrConfig(t), tinySplit(40))
	steps(t, tr, 1)
	c := tr.Config()
	c.Method = MethodBYOL
	if err := tr.Apply(c); err == nil || tr.Config().Method != MethodSimCLR {
		t.Fatalf("switching a running SimCLR trainer to BYOL: %v", err)
	}
	c = tr.Config()
	c.Temperature = 0.5 // a live knob, like τ for BYOL
	if err := tr.Apply(c); err != nil {
		t.Fatal(err)
	}
	steps(t, tr, 1)
	if tr.Config().Temperature != 0.5 {
		t.Error("temperature did not change")
	}
}

// TestOldCheckpointConfigIsBYOL: configs saved before the method existed
// have neither method nor temperature, and load as BYOL runs.
func TestOldCheckpointConfigIsBYOL(t *testing.T) {
	raw, err := json.Marshal(tinyConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "method")
	delete(m, "temperature")
	old, _ := json.Marshal(m)
	c, err := configOf("old", map[string]string{"format": checkpointFormat, "config": string(old)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Method != MethodBYOL || c.Temperature != defaultTemperature {
		t.Errorf("old config loaded as method %q, temperature %v", c.Method, c.Temperature)
	}
}
