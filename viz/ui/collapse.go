package ui

import "math"

// Collapse thresholds: the same rule as core/lab's detector, so that the
// badge and the server's collapse events agree. A run counts as collapsed
// when the mean per-dimension std of its normalised projections falls below
// CollapseThreshold/√d (healthy is about 1/√d), and as recovered when it
// climbs above CollapseRecover times that line; the gap keeps a run near the
// line from flickering. A fresh network starts below the line (its outputs
// all point about the same way), so the detector arms only once the std has
// been above the upper line, or after CollapseWarmup steps.
const (
	CollapseThreshold = 0.2
	CollapseRecover   = 1.5
	CollapseWarmup    = 200
)

// CollapseLine is the std below which a run of projection dimension d
// counts as collapsed.
func CollapseLine(d int) float64 {
	if d < 1 {
		return 0
	}
	return CollapseThreshold / math.Sqrt(float64(d))
}

// HealthyStd is the std of well-spread normalised projections: 1/√d.
func HealthyStd(d int) float64 {
	if d < 1 {
		return 0
	}
	return 1 / math.Sqrt(float64(d))
}

// CollapseDetector follows one run's std, step by step.
type CollapseDetector struct {
	Collapsed bool
	spread    bool
}

// Observe feeds the std at a step and returns whether the run is collapsed
// now. A NaN std (a diverged run) leaves the state as it was.
func (c *CollapseDetector) Observe(std float64, d int, step uint64) bool {
	line := CollapseLine(d)
	if math.IsNaN(std) || line == 0 {
		return c.Collapsed
	}
	if std > CollapseRecover*line {
		c.spread = true
	}
	switch {
	case !c.Collapsed && std < line && (c.spread || step >= CollapseWarmup):
		c.Collapsed = true
	case c.Collapsed && std > CollapseRecover*line:
		c.Collapsed = false
	}
	return c.Collapsed
}

// Reset forgets the history (a reset run starts from a fresh network).
func (c *CollapseDetector) Reset() { *c = CollapseDetector{} }
