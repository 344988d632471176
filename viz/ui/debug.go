package ui

// Debug is a summary of the frontend's state for tests and the browser
// console (window.byolLab.state() in the page): what is shown, where the
// widgets are, and what the panels say.
type Debug struct {
	Frames   int           `json:"frames"`
	Data     bool          `json:"data"` // a snapshot has been drawn
	Conn     string        `json:"conn"`
	Hello    bool          `json:"hello"`
	ReadOnly bool          `json:"read_only"`
	Preset   string        `json:"preset"`
	Fragment string        `json:"fragment"`
	Help     bool          `json:"help"`
	Panels   []DebugPanel  `json:"panels"`
	Widgets  []DebugWidget `json:"widgets"`
	Toasts   []string      `json:"toasts"`
	Hover    *DebugHover   `json:"hover,omitempty"` // the point under the mouse
}

// DebugHover is the probe image under the mouse and its tooltip.
type DebugHover struct {
	Run   string     `json:"run"`
	Point int        `json:"point"`
	Cloud string     `json:"cloud"` // PointOnline or PointTarget
	Image string     `json:"image"` // ThumbNone, ThumbLoading, ThumbShown or ThumbFailed
	Tip   [4]float64 `json:"tip"`   // the tooltip, CSS pixels (zero: not drawn)
	Thumb [4]float64 `json:"thumb"` // its picture's box
}

// DebugPanel describes one panel.
type DebugPanel struct {
	Run       string     `json:"run"`
	Name      string     `json:"name"`
	State     string     `json:"state"`
	Step      uint64     `json:"step"`
	Predictor bool       `json:"predictor"`
	Tau       float64    `json:"tau"`
	Collapsed bool       `json:"collapsed"`
	Points    int        `json:"points"`
	Plot      [4]float64 `json:"plot"` // x, y, w, h in CSS pixels
}

// DebugWidget is a widget with its rectangle in CSS pixels.
type DebugWidget struct {
	ID      string     `json:"id"`
	Label   string     `json:"label"`
	On      bool       `json:"on"`
	Enabled bool       `json:"enabled"`
	Rect    [4]float64 `json:"rect"`
}

// Debug returns the state as of the last Scene.
func (a *App) Debug() Debug {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.scale
	if !(s > 0) {
		s = 1
	}
	css := func(r Rect) [4]float64 { return [4]float64{r.X / s, r.Y / s, r.W / s, r.H / s} }
	d := Debug{
		Frames: a.frames, Hello: a.lab.Hello, ReadOnly: a.lab.ReadOnly, Preset: a.lab.Preset,
		Fragment: a.view.Encode(), Help: a.help,
		Conn: [...]string{"connecting", "open", "waiting", "fatal"}[a.conn.State],
	}
	for _, g := range a.panels {
		r := a.lab.Run(g.run)
		if r == nil {
			continue
		}
		p := DebugPanel{Run: r.Info.ID, Name: r.Info.Name, State: r.Info.State, Step: r.Info.Step,
			Predictor: r.Info.Knobs.Predictor, Tau: r.Info.Knobs.TauBase, Collapsed: r.Collapsed(), Plot: css(g.plot)}
		if r.Snap != nil {
			p.Points = r.Snap.N()
			d.Data = true
		}
		d.Panels = append(d.Panels, p)
	}
	for _, w := range a.widgets {
		d.Widgets = append(d.Widgets, DebugWidget{ID: w.ID, Label: w.Label, On: w.On, Enabled: w.Enabled, Rect: css(w.R)})
	}
	if a.hoverPoint >= 0 && a.hoverPanel >= 0 && a.hoverPanel < len(a.panels) {
		h := a.hoverTip
		d.Hover = &DebugHover{Run: a.panels[a.hoverPanel].run, Point: a.hoverPoint, Cloud: a.hoverCloud,
			Image: h.image, Tip: css(h.tip), Thumb: css(h.thumb)}
	}
	for _, t := range a.toasts {
		d.Toasts = append(d.Toasts, t.Text)
	}
	return d
}
