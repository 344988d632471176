package byol

import "time"

// Pacer picks how many steps each Steps call runs, so that a call lasts
// about Target: long enough for the device to run ahead of the host, short
// enough for the caller to react in time (to Ctrl-C, an evaluation, a
// checkpoint). It starts with one step and follows the measured step time.
type Pacer struct {
	Target  time.Duration
	perStep time.Duration // smoothed time per step; 0 before the first call
}

// Next returns the length of the next call: 1 … MaxStepsPerSync.
func (p *Pacer) Next() int {
	if p.perStep <= 0 {
		return 1
	}
	return int(min(max(p.Target/p.perStep, 1), MaxStepsPerSync))
}

// Observe records that a call ran steps steps in d.
func (p *Pacer) Observe(d time.Duration, steps int) {
	if steps <= 0 {
		return
	}
	per := d / time.Duration(steps)
	if p.perStep == 0 {
		p.perStep = per
	} else {
		p.perStep += (per - p.perStep) / 4
	}
}
