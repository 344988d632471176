package ui

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestLinear(t *testing.T) {
	s := Linear{D0: 0, D1: 10, R0: 100, R1: 0} // y grows down: data up
	for _, c := range [][2]float64{{0, 100}, {10, 0}, {5, 50}, {-5, 150}} {
		if got := s.Map(c[0]); got != c[1] {
			t.Errorf("Map(%g) = %g, want %g", c[0], got, c[1])
		}
		if got := s.Invert(c[1]); got != c[0] {
			t.Errorf("Invert(%g) = %g, want %g", c[1], got, c[0])
		}
	}
	if got := (Linear{3, 3, 0, 10}).Map(7); got != 5 {
		t.Errorf("degenerate domain maps to %g, want the middle 5", got)
	}
}

func TestLog(t *testing.T) {
	s := Log{D0: 0.01, D1: 100, R0: 0, R1: 400}
	for _, c := range [][2]float64{{0.01, 0}, {0.1, 100}, {1, 200}, {100, 400}} {
		if got := s.Map(c[0]); math.Abs(got-c[1]) > 1e-9 {
			t.Errorf("Map(%g) = %g, want %g", c[0], got, c[1])
		}
	}
	for _, v := range []float64{0, -1, math.NaN()} {
		if got := s.Map(v); got != 0 {
			t.Errorf("Map(%g) = %g, want the floor 0", v, got)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		n      int
		want   []float64
	}{
		{0, 1, 4, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{-0.45, 0.45, 4, []float64{-0.4, -0.2, 0, 0.2, 0.4}},
		{0, 2000, 2, []float64{0, 1000, 2000}},
		{3, 3, 4, []float64{3}},
	} {
		got, _ := NiceTicks(c.lo, c.hi, c.n)
		if len(got) != len(c.want) {
			t.Errorf("NiceTicks(%g, %g, %d) = %v, want %v", c.lo, c.hi, c.n, got, c.want)
			continue
		}
		for i := range got {
			if math.Abs(got[i]-c.want[i]) > 1e-12 {
				t.Errorf("NiceTicks(%g, %g, %d) = %v, want %v", c.lo, c.hi, c.n, got, c.want)
				break
			}
		}
	}
	if got, _ := NiceTicks(math.NaN(), 1, 3); got != nil {
		t.Errorf("NaN range: %v, want none", got)
	}
}

func TestLogTicks(t *testing.T) {
	if got := LogTicks(0.003, 20); !slices.Equal(got, []float64{0.01, 0.1, 1, 10}) {
		t.Errorf("LogTicks(0.003, 20) = %v", got)
	}
	if got := LogTicks(2, 5); !slices.Equal(got, []float64{2, 5}) {
		t.Errorf("LogTicks(2, 5) = %v, want the ends", got)
	}
	if got := LogTicks(0, 5); got != nil {
		t.Errorf("LogTicks(0, 5) = %v, want none", got)
	}
}

func TestNiceMax(t *testing.T) {
	for _, c := range [][2]float64{{0.7, 1}, {1.2, 2}, {2.1, 2.5}, {3, 5}, {1050, 2000}, {0, 1}, {math.NaN(), 1}, {0.106, 0.2}} {
		if got := NiceMax(c[0]); math.Abs(got-c[1]) > 1e-12 {
			t.Errorf("NiceMax(%g) = %g, want %g", c[0], got, c[1])
		}
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{FormatTick(0.2, 0.2), "0.2"},
		{FormatTick(-0.4, 0.2), "−0.4"},
		{FormatTick(0, 0.1), "0"},
		{FormatTick(2000, 1000), "2k"},
		{FormatTick(1500, 500), "1500"},
		{FormatSI(2210.5), "2.2k"},
		{FormatSI(950), "950"},
		{FormatSI(12345), "12k"},
		{FormatSI(3.4e6), "3.4M"},
		{FormatExp(0.001), "1e-3"},
		{FormatExp(2.5e-4), "2.5e-4"},
		{FormatLog(0.01), "0.01"},
		{FormatLog(10), "10"},
		{FormatLog(1e-3), "1e-3"},
		{FormatValue(0.41372, 3), "0.414"},
		{FormatValue(0.0020, 2), "0.0020"},
		{FormatValue(41.7, 3), "41.7"},
		{FormatValue(math.NaN(), 3), "NaN"},
		{FormatValue(math.Inf(1), 3), "∞"},
		{FormatCount(1234567), "1,234,567"},
		{FormatCount(12), "12"},
		{FormatTau(0.996), "0.9960"},
		{FormatTau(0.5), "0.500"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestPalette(t *testing.T) {
	p := Palette(colourClasses)
	if p[0] != named["red"] || p[5] != named["blue"] {
		t.Errorf("colour labels should be drawn in their own colour: red %v, blue %v", p[0], p[5])
	}
	p = Palette(shapeClasses)
	if !slices.Equal(p, categorical) {
		t.Errorf("ten shapes should get Tableau 10")
	}
	// Mixed names are not a colour set: "red" among shapes gets a palette
	// colour, not red.
	if p := Palette([]string{"red", "circle"}); p[0] != categorical[0] {
		t.Errorf("a partly named set used named colours: %v", p)
	}
	many := make([]string, 40)
	for i := range many {
		many[i] = string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	p = Palette(many)
	seen := map[[3]uint8]bool{}
	for _, c := range p {
		if c.A != 255 {
			t.Fatalf("colour %v is not opaque", c)
		}
		seen[[3]uint8{c.R, c.G, c.B}] = true
	}
	if len(seen) != len(many) {
		t.Errorf("40 classes got %d distinct colours", len(seen))
	}
	if c := WithAlpha(named["red"], 0.5); c.A != 128 || c.R != named["red"].R {
		t.Errorf("WithAlpha: %v", c)
	}
}

func TestBackoff(t *testing.T) {
	b := DefaultBackoff
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
	for i, w := range want {
		if got := b.Delay(i+1, 0); got != w {
			t.Errorf("Delay(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := b.Delay(3, 0.999); got < 1500*time.Millisecond || got >= 2*time.Second {
		t.Errorf("jitter shortens by at most a quarter: %v", got)
	}
}

func TestSeries(t *testing.T) {
	var s Series
	for i := range MaxSeries + 10 {
		s.Add(float64(i), float64(i))
	}
	if s.Len() > MaxSeries || s.Len() < MaxSeries/2 {
		t.Errorf("%d points kept, want between %d and %d", s.Len(), MaxSeries/2, MaxSeries)
	}
	if s.Step[0] != 0 || s.Last() != float64(MaxSeries+9) {
		t.Errorf("the first and last points must survive thinning: %g … %g", s.Step[0], s.Last())
	}
	s.Add(float64(MaxSeries+9), -1) // same step: replaced
	if s.Last() != -1 {
		t.Errorf("a repeated step should replace the value")
	}
	s.Add(3, 7) // back in time: a reset run
	if s.Len() != 1 || s.Last() != 7 {
		t.Errorf("a step back should restart the history, got %d points", s.Len())
	}

	var d Series
	for i := range 1000 {
		v := float64(i % 10)
		if i == 500 {
			v = 100 // a spike must survive decimation
		}
		d.Add(float64(i), v)
	}
	pts := d.Decimate(0, 1000, 50, nil)
	if len(pts) > 100 {
		t.Errorf("Decimate kept %d points for 50 buckets", len(pts))
	}
	hi := 0.0
	for _, p := range pts {
		hi = max(hi, p[1])
	}
	if hi != 100 {
		t.Errorf("the spike was lost: max %g", hi)
	}
	var n Series
	n.Add(1, math.NaN())
	n.Add(2, 3)
	if lo, hi, ok := n.Range(); !ok || lo != 3 || hi != 3 {
		t.Errorf("Range skips NaN: %g %g %v", lo, hi, ok)
	}
}

func TestWrapAndEllipsize(t *testing.T) {
	lines := wrap("the quick brown fox jumps over the lazy dog", 10*5.5*1.0+1, 10, false, ApproxMeasure)
	for _, l := range lines {
		if ApproxMeasure(l, 10, false) > 56 && len([]rune(l)) > 1 && !slices.Contains([]string{"quick", "brown", "jumps"}, l) {
			t.Errorf("line %q too wide", l)
		}
	}
	if len(lines) < 4 {
		t.Errorf("wrap gave %d lines: %q", len(lines), lines)
	}
	if got := ellipsize("abcdefghij", ApproxMeasure("abcd…", 10, false), 10, false, ApproxMeasure); got != "abcd…" {
		t.Errorf("ellipsize = %q", got)
	}
	if got := ellipsize("abc", 100, 10, false, ApproxMeasure); got != "abc" {
		t.Errorf("ellipsize of a short text = %q", got)
	}
}
