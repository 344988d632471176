package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/byol-lab/byol-lab/core/backend"
)

// Kind says what role a parameter plays, which decides weight decay and
// LARS adaptation (the paper excludes biases and BatchNorm parameters).
type Kind int

const (
	Weight Kind = iota
	Bias
	BNScale
	BNShift
)

// Param is one parameter tensor: a view into its network's flat parameter
// buffer (W) and gradient buffer (G).
type Param struct {
	Name  string
	Shape []int
	Kind  Kind
	Off   int
	W, G  backend.Buffer
	init  func(r *rand.Rand, w []float32)
}

// Len is the number of elements.
func (p *Param) Len() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// State is non-trained layer state (BatchNorm running statistics), also kept
// in one flat buffer per network so checkpoints stay single copies.
type State struct {
	Name string
	Off  int
	Len  int
	Init float32
	Buf  backend.Buffer
}

// Params collects a network's parameters and state while layers are built,
// then places them in flat buffers with Alloc. Layout is the order of
// registration, so two networks built by the same code share a layout.
type Params struct {
	List   []*Param
	States []*State
	W, G   backend.Buffer // all parameters, all gradients
	S      backend.Buffer // all state
	n, ns  int
}

func (ps *Params) add(name string, kind Kind, init func(*rand.Rand, []float32), shape ...int) *Param {
	p := &Param{Name: name, Shape: shape, Kind: kind, Off: ps.n, init: init}
	ps.n += p.Len()
	ps.List = append(ps.List, p)
	return p
}

func (ps *Params) addState(name string, n int, init float32) *State {
	s := &State{Name: name, Off: ps.ns, Len: n, Init: init}
	ps.ns += n
	ps.States = append(ps.States, s)
	return s
}

// Len is the total number of parameters.
func (ps *Params) Len() int { return ps.n }

// StateLen is the total number of state elements.
func (ps *Params) StateLen() int { return ps.ns }

// Alloc places every parameter and state in flat buffers on b and
// initialises them from rng, in registration order.
func (ps *Params) Alloc(b backend.Backend, rng *rand.Rand) {
	host := make([]float32, ps.n)
	for _, p := range ps.List {
		p.init(rng, host[p.Off:p.Off+p.Len()])
	}
	ps.W, ps.G = b.Alloc(max(ps.n, 1)), b.Alloc(max(ps.n, 1))
	if ps.n > 0 {
		b.Upload(ps.W, host)
	}
	for _, p := range ps.List {
		p.W, p.G = ps.W.Slice(p.Off, p.Len()), ps.G.Slice(p.Off, p.Len())
	}
	st := make([]float32, ps.ns)
	for _, s := range ps.States {
		for i := s.Off; i < s.Off+s.Len; i++ {
			st[i] = s.Init
		}
	}
	ps.S = b.Alloc(max(ps.ns, 1))
	if ps.ns > 0 {
		b.Upload(ps.S, st)
	}
	for _, s := range ps.States {
		s.Buf = ps.S.Slice(s.Off, s.Len)
	}
}

// SameLayout reports whether q's parameters are a prefix-compatible copy of
// ps's first len(q.List) parameters (names, shapes and offsets), which is
// what the EMA from an online to a target network relies on.
func (ps *Params) SameLayout(q *Params) error {
	if len(q.List) > len(ps.List) {
		return fmt.Errorf("nn: layout has %d parameters, more than %d", len(q.List), len(ps.List))
	}
	for i, p := range q.List {
		o := ps.List[i]
		if p.Name != o.Name || p.Off != o.Off || p.Len() != o.Len() {
			return fmt.Errorf("nn: parameter %d is %s@%d (%d) vs %s@%d (%d)", i, p.Name, p.Off, p.Len(), o.Name, o.Off, o.Len())
		}
	}
	return nil
}

// kaimingUniform matches PyTorch's default Linear/Conv2d initialisation,
// U(−1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5).
func kaimingUniform(fanIn int) func(*rand.Rand, []float32) {
	bound := 1 / math.Sqrt(float64(fanIn))
	return func(r *rand.Rand, w []float32) {
		for i := range w {
			w[i] = float32((2*r.Float64() - 1) * bound)
		}
	}
}

func constant(v float32) func(*rand.Rand, []float32) {
	return func(_ *rand.Rand, w []float32) {
		for i := range w {
			w[i] = v
		}
	}
}
