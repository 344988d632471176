package data

import "math"

// Signed distance functions of the shape classes, in shape units: every
// shape fits inside the unit disc, negative inside, positive outside. The
// formulas follow Inigo Quilez's 2D distance functions; unions and
// differences via min/max are exact outside the shape, which is where the
// anti-aliased edge is computed.

type vec2 struct{ x, y float64 }

func shapeSDF(shape int, u, v float64) float64 {
	switch shape {
	case 0: // circle
		return math.Hypot(u, v) - 0.9
	case 1: // square
		return sdBox(u, v, 0.66, 0.66)
	case 2: // triangle
		return sdPolygon(u, v, trianglePoly)
	case 3: // cross
		return min(sdBox(u, v, 0.95, 0.3), sdBox(u, v, 0.3, 0.95))
	case 4: // star
		return sdPolygon(u, v, starPoly)
	case 5: // ring
		return math.Abs(math.Hypot(u, v)-0.7) - 0.22
	case 6: // heart
		return sdHeart(u, v)
	case 7: // arrow
		return sdPolygon(u, v, arrowPoly)
	case 8: // crescent: a disc with an offset disc cut out
		return max(math.Hypot(u, v)-0.95, 0.72-math.Hypot(u-0.42, v))
	default: // hourglass: two triangles meeting at their tips
		return min(sdPolygon(u, v, hourglassTop), sdPolygon(u, v, hourglassBottom))
	}
}

var (
	trianglePoly    = regularPoly(3, 1, 1)
	starPoly        = regularPoly(5, 1, 0.42)
	arrowPoly       = []vec2{{-0.95, -0.22}, {0.15, -0.22}, {0.15, -0.62}, {0.95, 0}, {0.15, 0.62}, {0.15, 0.22}, {-0.95, 0.22}}
	hourglassTop    = []vec2{{-0.62, -0.78}, {0.62, -0.78}, {0, 0.02}}
	hourglassBottom = []vec2{{-0.62, 0.78}, {0, -0.02}, {0.62, 0.78}}
)

// regularPoly returns an n-pointed polygon alternating between the outer and
// inner radius (inner == outer gives a regular n-gon with n vertices).
func regularPoly(n int, outer, inner float64) []vec2 {
	var p []vec2
	step := math.Pi / float64(n)
	for i := range 2 * n {
		r := outer
		if i%2 == 1 {
			if inner == outer {
				continue
			}
			r = inner
		}
		a := float64(i)*step - math.Pi/2
		p = append(p, vec2{r * math.Cos(a), r * math.Sin(a)})
	}
	return p
}

func sdBox(u, v, hx, hy float64) float64 {
	dx, dy := math.Abs(u)-hx, math.Abs(v)-hy
	return math.Hypot(max(dx, 0), max(dy, 0)) + min(max(dx, dy), 0)
}

// sdPolygon is the exact distance to a simple polygon: the nearest edge
// gives the distance, a crossing count along y gives the sign.
func sdPolygon(u, v float64, poly []vec2) float64 {
	d := (u-poly[0].x)*(u-poly[0].x) + (v-poly[0].y)*(v-poly[0].y)
	s := 1.0
	for i, j := 0, len(poly)-1; i < len(poly); j, i = i, i+1 {
		ex, ey := poly[j].x-poly[i].x, poly[j].y-poly[i].y
		wx, wy := u-poly[i].x, v-poly[i].y
		t := min(max((wx*ex+wy*ey)/(ex*ex+ey*ey), 0), 1)
		bx, by := wx-ex*t, wy-ey*t
		d = min(d, bx*bx+by*by)
		c1, c2, c3 := v >= poly[i].y, v < poly[j].y, ex*wy > ey*wx
		if (c1 && c2 && c3) || (!c1 && !c2 && !c3) {
			s = -s
		}
	}
	return s * math.Sqrt(d)
}

// sdHeart is Quilez's heart (tip at the origin, height ≈1.1), rescaled and
// centred so it fits the unit disc.
func sdHeart(u, v float64) float64 {
	const k = 0.63
	x, y := math.Abs(u)*k, 0.55-v*k
	var d float64
	if x+y > 1 {
		d = math.Hypot(x-0.25, y-0.75) - math.Sqrt2/4
	} else {
		m := 0.5 * max(x+y, 0)
		d = math.Sqrt(min(x*x+(y-1)*(y-1), (x-m)*(x-m)+(y-m)*(y-m)))
		if x < y {
			d = -d
		}
	}
	return d / k
}
