package ui

import (
	"net/url"
	"slices"
	"strings"

	"github.com/byol-lab/byol-lab/viz/proto"
)

// View is what the user chose to see. It lives in the page URL's fragment,
// as TensorFlow Playground keeps its state, so that a teacher can send a
// link that opens exactly the intended view:
//
//	#preset=collapse&runs=byol,no-predictor&label=colour&links=1
//
// Defaults are left out of the link. Unknown keys and bad values are
// ignored, so an old or hand-edited link still opens.
type View struct {
	// Preset is the lesson the link asks for ("" for whatever the lab
	// runs). A client with control loads it once on arrival.
	Preset string
	// Runs are the ids of the runs to show, in order; empty shows the first
	// MaxPanels runs.
	Runs []string
	// Label is the label set that colours the points ("" for the first).
	Label string
	// Links draws a faint line from each image's online point to its
	// target point.
	Links bool
	// Cloud is the online output drawn filled: CloudProj (the projection
	// z, the representation that collapses) or CloudPred (the prediction
	// q(z), what the loss compares with the target).
	Cloud string
	// Zoom is how the scatter plots scale: ZoomShared (one scale for every
	// panel, so a collapsed cloud looks small next to a healthy one),
	// ZoomPanel (each fills its panel) or ZoomFixed (±1, the unit sphere).
	Zoom string
	// Hide lists parts of the page to hide for a lesson (HideControls,
	// HideCharts).
	Hide []string
}

// View option values.
const (
	CloudProj = "proj"
	CloudPred = "pred"

	ZoomShared = "shared"
	ZoomPanel  = "panel"
	ZoomFixed  = "fixed"

	HideControls = "controls"
	HideCharts   = "charts"
)

// MaxPanels is the most runs shown side by side.
const MaxPanels = 4

// DefaultView is the view of a link without a fragment.
func DefaultView() View { return View{Cloud: CloudProj, Zoom: ZoomShared} }

// Hidden reports whether part is hidden.
func (v *View) Hidden(part string) bool { return slices.Contains(v.Hide, part) }

// Encode writes the view as a URL fragment (without the '#'), defaults
// left out, keys in a fixed order.
func (v View) Encode() string {
	var parts []string
	add := func(k, val string) { parts = append(parts, k+"="+val) }
	if v.Preset != "" {
		add("preset", url.QueryEscape(v.Preset))
	}
	if len(v.Runs) > 0 {
		esc := make([]string, len(v.Runs))
		for i, r := range v.Runs {
			esc[i] = url.QueryEscape(r)
		}
		add("runs", strings.Join(esc, ","))
	}
	if v.Label != "" {
		add("label", url.QueryEscape(v.Label))
	}
	if v.Links {
		add("links", "1")
	}
	if v.Cloud != "" && v.Cloud != CloudProj {
		add("cloud", v.Cloud)
	}
	if v.Zoom != "" && v.Zoom != ZoomShared {
		add("zoom", v.Zoom)
	}
	if len(v.Hide) > 0 {
		add("hide", strings.Join(v.Hide, ","))
	}
	return strings.Join(parts, "&")
}

// ParseView reads a URL fragment (with or without the leading '#').
// Whatever does not parse keeps its default.
func ParseView(fragment string) View {
	v := DefaultView()
	q, _ := url.ParseQuery(strings.TrimPrefix(fragment, "#"))
	if p := q.Get("preset"); isID(p) {
		v.Preset = p
	}
	for _, r := range strings.Split(q.Get("runs"), ",") {
		if isID(r) && !slices.Contains(v.Runs, r) && len(v.Runs) < MaxPanels {
			v.Runs = append(v.Runs, r)
		}
	}
	if l := q.Get("label"); isID(l) {
		v.Label = l
	}
	v.Links = q.Get("links") == "1" || q.Get("links") == "true"
	if c := q.Get("cloud"); c == CloudPred {
		v.Cloud = c
	}
	if z := q.Get("zoom"); z == ZoomPanel || z == ZoomFixed {
		v.Zoom = z
	}
	for _, h := range strings.Split(q.Get("hide"), ",") {
		if (h == HideControls || h == HideCharts) && !slices.Contains(v.Hide, h) {
			v.Hide = append(v.Hide, h)
		}
	}
	return v
}

// TokenFromFragment returns the teacher token a link carries (#token=…)
// and the fragment without it. The frontend keeps the token out of the
// address bar, so that a teacher who shares the link does not share control.
func TokenFromFragment(fragment string) (token, rest string) {
	fragment = strings.TrimPrefix(fragment, "#")
	var keep []string
	for _, part := range strings.Split(fragment, "&") {
		if t, ok := strings.CutPrefix(part, "token="); ok {
			if u, err := url.QueryUnescape(t); err == nil && isToken(u) {
				token = u
			}
			continue
		}
		if part != "" {
			keep = append(keep, part)
		}
	}
	return token, strings.Join(keep, "&")
}

// isID and isToken apply the protocol's rules, so that nothing a link
// carries can make a command the server would refuse.
func isID(s string) bool {
	if s == "" {
		return false
	}
	_, err := proto.EncodeCommand(proto.Command{Cmd: proto.CmdPause, Run: s})
	return err == nil
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	_, err := proto.EncodeCommand(proto.Command{Cmd: proto.CmdPing, Token: s})
	return err == nil
}
