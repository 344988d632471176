package proto

import "testing"

func TestProbeImagePath(t *testing.T) {
	if p := ProbeImagePath("3f9a0c2d41e87b65", 17); p != "/probe/3f9a0c2d41e87b65/17.png" {
		t.Errorf("ProbeImagePath = %q", p)
	}
	for _, c := range []struct {
		path  string
		probe string
		i     int
		ok    bool
	}{
		{"/probe/abc/0.png", "abc", 0, true},
		{"/probe/abc/65535.png", "abc", MaxPoints - 1, true},
		{"/probe/abc/65536.png", "", 0, false}, // beyond MaxPoints
		{"/probe/abc/01.png", "", 0, false},    // one spelling per image
		{"/probe/abc/-1.png", "", 0, false},
		{"/probe/abc/1.jpg", "", 0, false},
		{"/probe/../1.png", "", 0, false},
		{"/probe/a b/1.png", "", 0, false},
		{"/probe/abc/1/2.png", "", 0, false},
		{"/probe/abc/.png", "", 0, false},
		{"/probes/abc/1.png", "", 0, false},
	} {
		probe, i, ok := ParseProbeImagePath(c.path)
		if probe != c.probe || i != c.i || ok != c.ok {
			t.Errorf("ParseProbeImagePath(%q) = %q, %d, %v; want %q, %d, %v", c.path, probe, i, ok, c.probe, c.i, c.ok)
		}
	}
}
