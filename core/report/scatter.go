package report

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// glyphShapes vary the marker once the ten palette colours are used up.
var glyphShapes = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.PyramidGlyph{}, draw.BoxGlyph{},
	draw.CrossGlyph{}, draw.RingGlyph{}, draw.TriangleGlyph{},
}

// classStyle is the marker of class index i (position among the classes
// present, not the raw label, so ten classes always get ten colours).
func classStyle(i int, radius vg.Length) draw.GlyphStyle {
	c := Palette[i%len(Palette)]
	c.A = 0xd8 // a little transparency shows density where points pile up
	return draw.GlyphStyle{Color: c, Radius: radius, Shape: glyphShapes[(i/len(Palette))%len(glyphShapes)]}
}

// PlotScatter draws 2-D points (xy holds N (x, y) pairs, e.g. the first two
// principal components of the embeddings) coloured by label, with a legend
// to the right, into a 1000×800 PNG at path. labels may be nil (one class);
// otherwise it has N entries, and label l is named classNames[l] when that
// exists. Points with a non-finite coordinate are skipped.
func PlotScatter(path string, xy []float32, labels []int32, classNames []string, title string) error {
	if len(xy)%2 != 0 {
		return fmt.Errorf("report: PlotScatter %s: xy has odd length %d", path, len(xy))
	}
	n := len(xy) / 2
	if labels != nil && len(labels) != n {
		return fmt.Errorf("report: PlotScatter %s: %d labels for %d points", path, len(labels), n)
	}
	groups := map[int32]plotter.XYs{}
	for i := 0; i < n; i++ {
		x, y := float64(xy[2*i]), float64(xy[2*i+1])
		if math.IsNaN(x) || math.IsInf(x, 0) || math.IsNaN(y) || math.IsInf(y, 0) {
			continue
		}
		var l int32
		if labels != nil {
			l = labels[i]
		}
		groups[l] = append(groups[l], plotter.XY{X: x, Y: y})
	}
	ids := make([]int32, 0, len(groups))
	for l := range groups {
		ids = append(ids, l)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })

	p := plot.New()
	styleFonts(p)
	p.Title.Text = title
	p.Title.TextStyle.Font = sans(14)
	p.X.Label.Text = "PC 1"
	p.Y.Label.Text = "PC 2"
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = gridColour, gridColour
	p.Add(g)

	radius := vg.Points(2.6)
	if n > 5000 {
		radius = vg.Points(1.6)
	}
	legend := plot.NewLegend()
	legend.TextStyle.Font = sans(11)
	legend.Top, legend.Left = true, true
	legend.Padding = vg.Points(3)
	legend.ThumbnailWidth = vg.Points(12)
	entries := make([]string, len(ids))
	for i, l := range ids {
		name := fmt.Sprintf("class %d", l)
		switch {
		case labels == nil:
			name = "all points"
		case l >= 0 && int(l) < len(classNames):
			name = classNames[l]
		}
		entries[i] = fmt.Sprintf("%s (%d)", name, len(groups[l]))
	}
	for i, l := range ids {
		s, err := plotter.NewScatter(groups[l])
		if err != nil {
			return fmt.Errorf("report: PlotScatter %s: %w", path, err)
		}
		s.GlyphStyle = classStyle(i, radius)
		p.Add(s)
		// A larger opaque marker for the legend than on the plot.
		thumb := &plotter.Scatter{GlyphStyle: classStyle(i, vg.Points(4.5))}
		thumb.GlyphStyle.Color = Palette[i%len(Palette)]
		legend.Add(entries[i], thumb)
	}

	const w, h = 1000, 800
	return savePNG(path, w, h, func(dc draw.Canvas) {
		// Legend column on the right, sized to its longest entry, so it
		// never hides points.
		width := px(0)
		if labels != nil && len(ids) > 0 {
			for _, e := range entries {
				width = max(width, legend.TextStyle.Width(e))
			}
			width += legend.ThumbnailWidth + px(40)
		}
		plotArea := dc
		plotArea.Max.X -= width
		plotArea.Min.X += px(8)
		plotArea.Min.Y += px(8)
		plotArea.Max.Y -= px(8)
		p.Draw(plotArea)
		if width > 0 {
			legArea := dc
			legArea.Min.X = dc.Max.X - width + px(16)
			legArea.Max.Y = p.DataCanvas(plotArea).Max.Y
			legend.Draw(legArea)
		}
	})
}
