package ui

// Rect is an axis-aligned rectangle in device pixels.
type Rect struct{ X, Y, W, H float64 }

// Contains reports whether (x, y) lies inside r.
func (r Rect) Contains(x, y float64) bool {
	return x >= r.X && x < r.X+r.W && y >= r.Y && y < r.Y+r.H
}

// Right and Bottom are the far edges.
func (r Rect) Right() float64  { return r.X + r.W }
func (r Rect) Bottom() float64 { return r.Y + r.H }

// CX and CY are the centre.
func (r Rect) CX() float64 { return r.X + r.W/2 }
func (r Rect) CY() float64 { return r.Y + r.H/2 }

// Inset shrinks r by d on every side (never below zero size).
func (r Rect) Inset(d float64) Rect {
	return Rect{r.X + d, r.Y + d, max(0, r.W-2*d), max(0, r.H-2*d)}
}

// CutTop splits r into a strip of height h at the top and the rest.
func (r Rect) CutTop(h float64) (top, rest Rect) {
	h = clamp(h, 0, r.H)
	return Rect{r.X, r.Y, r.W, h}, Rect{r.X, r.Y + h, r.W, r.H - h}
}

// CutBottom splits r into the rest and a strip of height h at the bottom.
func (r Rect) CutBottom(h float64) (rest, bottom Rect) {
	h = clamp(h, 0, r.H)
	return Rect{r.X, r.Y, r.W, r.H - h}, Rect{r.X, r.Y + r.H - h, r.W, h}
}

// CutLeft splits r into a strip of width w on the left and the rest.
func (r Rect) CutLeft(w float64) (left, rest Rect) {
	w = clamp(w, 0, r.W)
	return Rect{r.X, r.Y, w, r.H}, Rect{r.X + w, r.Y, r.W - w, r.H}
}

// CutRight splits r into the rest and a strip of width w on the right.
func (r Rect) CutRight(w float64) (rest, right Rect) {
	w = clamp(w, 0, r.W)
	return Rect{r.X, r.Y, r.W - w, r.H}, Rect{r.X + r.W - w, r.Y, w, r.H}
}

// Grid splits r into rows×cols cells separated by gap, row by row.
func (r Rect) Grid(rows, cols int, gap float64) []Rect {
	if rows < 1 || cols < 1 {
		return nil
	}
	w := (r.W - gap*float64(cols-1)) / float64(cols)
	h := (r.H - gap*float64(rows-1)) / float64(rows)
	cells := make([]Rect, 0, rows*cols)
	for i := range rows {
		for j := range cols {
			cells = append(cells, Rect{r.X + float64(j)*(w+gap), r.Y + float64(i)*(h+gap), max(0, w), max(0, h)})
		}
	}
	return cells
}

func clamp(x, lo, hi float64) float64 {
	if x < lo {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}
