package ui

import "math"

// Series is a metric over training steps. It keeps at most MaxSeries points:
// when full it drops every other point, so a long run keeps its whole
// history at a coarser resolution and memory stays bounded.
type Series struct {
	Step []float64
	Val  []float64
}

// MaxSeries bounds the points of one Series.
const MaxSeries = 4096

// Add appends a point. A step at or before the last one means the run went
// back (reset, or a restarted server), and the history starts over.
func (s *Series) Add(step, v float64) {
	if n := len(s.Step); n > 0 && step <= s.Step[n-1] {
		if step == s.Step[n-1] {
			s.Val[n-1] = v
			return
		}
		s.Reset()
	}
	if len(s.Step) >= MaxSeries {
		j := 0
		for i := 0; i < len(s.Step); i += 2 {
			s.Step[j], s.Val[j] = s.Step[i], s.Val[i]
			j++
		}
		s.Step, s.Val = s.Step[:j], s.Val[:j]
	}
	s.Step = append(s.Step, step)
	s.Val = append(s.Val, v)
}

// Reset empties the series.
func (s *Series) Reset() { s.Step, s.Val = s.Step[:0], s.Val[:0] }

// Len is the number of points.
func (s *Series) Len() int { return len(s.Step) }

// Last is the latest value (NaN if none).
func (s *Series) Last() float64 {
	if len(s.Val) == 0 {
		return math.NaN()
	}
	return s.Val[len(s.Val)-1]
}

// Range returns the smallest and largest finite value (ok false if none).
func (s *Series) Range() (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, v := range s.Val {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		lo, hi, ok = min(lo, v), max(hi, v), true
	}
	return lo, hi, ok
}

// Decimate reduces the points between steps x0 and x1 to at most about
// 2·buckets, keeping each bucket's first, smallest and largest values, so a
// line drawn from them looks like the full series at that width. Points
// with non-finite values are kept as NaN gaps.
func (s *Series) Decimate(x0, x1 float64, buckets int, dst [][2]float64) [][2]float64 {
	dst = dst[:0]
	n := len(s.Step)
	if n == 0 || buckets < 1 {
		return dst
	}
	if n <= 2*buckets || !(x1 > x0) {
		for i := range n {
			dst = append(dst, [2]float64{s.Step[i], s.Val[i]})
		}
		return dst
	}
	width := (x1 - x0) / float64(buckets)
	i := 0
	for b := 0; b < buckets && i < n; b++ {
		end := x0 + float64(b+1)*width
		if b == buckets-1 {
			end = math.Inf(1)
		}
		lo, hi := -1, -1
		start := i
		for ; i < n && s.Step[i] < end; i++ {
			v := s.Val[i]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			if lo < 0 || v < s.Val[lo] {
				lo = i
			}
			if hi < 0 || v > s.Val[hi] {
				hi = i
			}
		}
		if i == start {
			continue
		}
		if lo < 0 { // only non-finite values in the bucket
			dst = append(dst, [2]float64{s.Step[start], math.NaN()})
			continue
		}
		a, c := min(lo, hi), max(lo, hi)
		dst = append(dst, [2]float64{s.Step[a], s.Val[a]})
		if c != a {
			dst = append(dst, [2]float64{s.Step[c], s.Val[c]})
		}
	}
	return dst
}
