package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// dpi fixes the pixel density: sizes are given in pixels, fonts in points,
// and at 96 DPI a 10-point tick label is 13 pixels, readable at 1200×800.
const dpi = 96

// px converts pixels to vg lengths at dpi.
func px(n int) vg.Length { return vg.Length(n) * vg.Inch / dpi }

// Palette is Paul Tol's "muted" qualitative scheme, designed to stay
// distinguishable under the common colour-vision deficiencies, plus a
// neutral grey as a tenth colour. Contrasting hues come first so plots with
// few classes are as clear as possible. Beyond ten classes the scatter plot
// also varies the marker shape.
var Palette = []color.NRGBA{
	{0x33, 0x22, 0x88, 0xff}, // indigo
	{0xDD, 0xCC, 0x77, 0xff}, // sand
	{0x44, 0xAA, 0x99, 0xff}, // teal
	{0xCC, 0x66, 0x77, 0xff}, // rose
	{0x88, 0xCC, 0xEE, 0xff}, // cyan
	{0x88, 0x22, 0x55, 0xff}, // wine
	{0x11, 0x77, 0x33, 0xff}, // green
	{0xAA, 0x44, 0x99, 0xff}, // purple
	{0x99, 0x99, 0x33, 0xff}, // olive
	{0x77, 0x77, 0x77, 0xff}, // grey
}

// lineColours are the Palette entries dark enough to read as thin lines.
var lineColours = []color.NRGBA{Palette[0], Palette[3], Palette[2], Palette[5], Palette[6], Palette[7], Palette[8]}

var (
	refColour  = color.NRGBA{0x55, 0x55, 0x55, 0xff}
	gridColour = color.NRGBA{0xe4, 0xe4, 0xe4, 0xff}
)

// sans is the plots' font: gonum's default is a serif face, which reads
// poorly at small sizes on screen.
func sans(size float64) font.Font {
	f := font.From(plot.DefaultFont, vg.Points(size))
	f.Variant = "Sans"
	return f
}

// styleFonts sets readable fonts on a plot.
func styleFonts(p *plot.Plot) {
	p.Title.TextStyle.Font = sans(13)
	p.Title.Padding = vg.Points(6)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sans(11)
		a.Tick.Label.Font = sans(9.5)
		a.Padding = vg.Points(2)
	}
	p.Legend.TextStyle.Font = sans(10)
}

// savePNG renders draw(c) on a w×h pixel white canvas and writes it
// atomically to path.
func savePNG(path string, w, h int, drawFn func(c draw.Canvas)) error {
	img := vgimg.NewWith(vgimg.UseWH(px(w), px(h)), vgimg.UseDPI(dpi))
	drawFn(draw.New(img))
	return writeAtomic(path, func(out io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(out)
		return err
	})
}

// CurveOptions tunes PlotCurves. The zero value is fine.
type CurveOptions struct {
	// Dim is the embedding dimension d. When positive, the std panel shows
	// the 1/√d line: the per-dimension std of ℓ2-normalised embeddings
	// spread evenly over the sphere, the healthy level; collapse drives the
	// std towards 0.
	Dim int
	// Title is drawn above the grid (e.g. the run name); empty for none.
	Title string
	// Width and Height in pixels; 0 means 1200×800.
	Width, Height int
}

// DefaultCurveKeys are the metrics PlotCurves draws when keys is nil.
var DefaultCurveKeys = []string{"loss", "std", "rank", "knn", "knn_colour", "knn_pixels", "knn_random", "lr", "tau"}

// metricInfo gives known metrics a readable panel title and axis label.
var metricInfo = map[string]struct{ title, ylabel string }{
	"loss":       {"BYOL loss", "loss"},
	"std":        {"Embedding std (collapse check)", "std per dimension"},
	"rank":       {"Effective rank", "rank"},
	"knn":        {"kNN accuracy", "accuracy"},
	"lr":         {"Learning rate", "lr"},
	"tau":        {"Target EMA τ", "τ"},
	"imgs_per_s": {"Throughput", "images / s"},
}

// seriesNames label the kNN group's legend.
var seriesNames = map[string]string{
	"knn":        "BYOL",
	"knn_colour": "colour",
	"knn_pixels": "raw pixels",
	"knn_random": "random net",
}

// panelSpec is one tile: keys drawn together, plus optional reference line.
type panelSpec struct {
	title, ylabel string
	keys          []string
	ref           float64
	refLabel      string
}

// panels groups keys into tiles: every "knn…" metric shares one panel, the
// rest get one each, in the order given.
func panels(keys []string, opt CurveOptions) []panelSpec {
	var out []panelSpec
	knn := -1
	for _, k := range keys {
		if strings.HasPrefix(k, "knn") {
			if knn < 0 {
				knn = len(out)
				out = append(out, panelSpec{title: metricInfo["knn"].title, ylabel: metricInfo["knn"].ylabel})
			}
			out[knn].keys = append(out[knn].keys, k)
			continue
		}
		ps := panelSpec{title: k, ylabel: k, keys: []string{k}}
		if info, ok := metricInfo[k]; ok {
			ps.title, ps.ylabel = info.title, info.ylabel
		}
		if k == "std" && opt.Dim > 0 {
			ps.ref = 1 / math.Sqrt(float64(opt.Dim))
			ps.refLabel = fmt.Sprintf("1/√d = %.3g (healthy)", ps.ref)
		}
		out = append(out, ps)
	}
	return out
}

// series extracts the finite (step, key) points. Records without a step
// are placed at their index.
func series(records []Record, key string) plotter.XYs {
	var xy plotter.XYs
	for i, r := range records {
		y, ok := r[key]
		if !ok || math.IsNaN(y) || math.IsInf(y, 0) {
			continue
		}
		x, ok := r["step"]
		if !ok || math.IsNaN(x) || math.IsInf(x, 0) {
			x = float64(i)
		}
		xy = append(xy, plotter.XY{X: x, Y: y})
	}
	return xy
}

// PlotCurves draws one panel per metric against step, in a grid, into a
// single PNG at path. keys picks the metrics (nil means DefaultCurveKeys);
// metrics with no finite values are skipped, and all "knn…" keys share a
// panel. A metric recorded only once (a baseline such as knn_pixels) is
// drawn in the kNN panel as a dashed horizontal line. NaN and ±Inf points are left out.
func PlotCurves(path string, records []Record, keys []string, opt CurveOptions) error {
	if keys == nil {
		keys = DefaultCurveKeys
	}
	if opt.Width <= 0 || opt.Height <= 0 {
		opt.Width, opt.Height = 1200, 800
	}
	xmin, xmax := math.Inf(1), math.Inf(-1)
	var present []string
	for _, k := range keys {
		xy := series(records, k)
		if len(xy) == 0 {
			continue
		}
		present = append(present, k)
		for _, p := range xy {
			xmin, xmax = math.Min(xmin, p.X), math.Max(xmax, p.X)
		}
	}
	if len(present) == 0 {
		return fmt.Errorf("report: PlotCurves %s: no finite values for %v", path, keys)
	}
	if xmin == xmax {
		xmin, xmax = xmin-1, xmax+1
	}
	xlabel := "step"
	if _, ok := records[0]["step"]; !ok {
		xlabel = "evaluation"
	}

	specs := panels(present, opt)
	cols := len(specs)
	if cols > 3 {
		cols = int(math.Ceil(math.Sqrt(float64(len(specs)))))
	}
	rows := (len(specs) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, cols)
	}
	for i, spec := range specs {
		p, err := curvePanel(records, spec, xlabel, xmin, xmax)
		if err != nil {
			return fmt.Errorf("report: PlotCurves %s: %w", path, err)
		}
		grid[i/cols][i%cols] = p
	}

	return savePNG(path, opt.Width, opt.Height, func(dc draw.Canvas) {
		top := px(12)
		if opt.Title != "" {
			sty := draw.TextStyle{
				Color:   color.Black,
				Font:    sans(15),
				XAlign:  draw.XCenter,
				YAlign:  draw.YTop,
				Handler: plot.DefaultTextHandler,
			}
			dc.FillText(sty, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y - px(10)}, opt.Title)
			top += sty.Height(opt.Title) + px(8)
		}
		tiles := draw.Tiles{
			Rows: rows, Cols: cols,
			PadTop: top, PadBottom: px(10), PadLeft: px(10), PadRight: px(20),
			PadX: px(36), PadY: px(28),
		}
		canvases := plot.Align(grid, tiles, dc)
		for r := range grid {
			for c, p := range grid[r] {
				if p != nil {
					p.Draw(canvases[r][c])
				}
			}
		}
	})
}

func curvePanel(records []Record, spec panelSpec, xlabel string, xmin, xmax float64) (*plot.Plot, error) {
	p := plot.New()
	styleFonts(p)
	p.Title.Text = spec.title
	p.X.Label.Text = xlabel
	p.Y.Label.Text = spec.ylabel
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = gridColour, gridColour
	p.Add(g)

	ymin, ymax := math.Inf(1), math.Inf(-1)
	include := func(y float64) { ymin, ymax = math.Min(ymin, y), math.Max(ymax, y) }
	if spec.ref > 0 {
		include(spec.ref)
		l := hline(spec.ref, refColour, xmin, xmax)
		p.Add(l)
		p.Legend.Add(spec.refLabel, l)
	}
	for i, k := range spec.keys {
		xy := series(records, k)
		for _, pt := range xy {
			include(pt.Y)
		}
		colour := lineColours[i%len(lineColours)]
		name := k
		if n, ok := seriesNames[k]; ok {
			name = n
		}
		if len(xy) == 1 && len(spec.keys) > 1 { // a one-off baseline
			l := hline(xy[0].Y, colour, xmin, xmax)
			p.Add(l)
			p.Legend.Add(fmt.Sprintf("%s (%.3g)", name, xy[0].Y), l)
			continue
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.Color, l.Width = colour, vg.Points(1.6)
		p.Add(l)
		if len(xy) <= 40 {
			s, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, err
			}
			s.GlyphStyle = draw.GlyphStyle{Color: colour, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}
			p.Add(s)
		}
		if len(spec.keys) > 1 {
			p.Legend.Add(name, l)
		}
	}
	// Fixed x range so panels line up; y padded so lines clear the frame.
	p.X.Min, p.X.Max = xmin, xmax
	if strings.HasPrefix(spec.keys[0], "knn") && ymin >= 0 && ymax <= 1 {
		ymin, ymax = 0, 1 // accuracies read best on their full scale
	} else {
		pad := 0.06 * (ymax - ymin)
		if pad == 0 {
			pad = 0.05*math.Abs(ymax) + 1e-9
		}
		ymin, ymax = ymin-pad, ymax+pad
	}
	p.Y.Min, p.Y.Max = ymin, ymax
	// Bottom right: accuracies and a healthy std rise towards the top right.
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = px(4)
	p.Legend.XOffs = -px(6)
	p.Legend.ThumbnailWidth = vg.Points(18)
	return p, nil
}

// hline is a dashed horizontal line across [xmin, xmax].
func hline(y float64, c color.Color, xmin, xmax float64) *plotter.Line {
	l, _ := plotter.NewLine(plotter.XYs{{X: xmin, Y: y}, {X: xmax, Y: y}})
	l.Color, l.Width = c, vg.Points(1.3)
	l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	return l
}
