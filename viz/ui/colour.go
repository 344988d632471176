package ui

import (
	"image/color"
	"math"
	"strings"
)

// The theme: light, so that screenshots and projectors show it well.
var (
	colBg        = rgb(0xf3, 0xf4, 0xf6)
	colPanel     = rgb(0xff, 0xff, 0xff)
	colBorder    = rgb(0xd5, 0xd8, 0xde)
	colText      = rgb(0x1f, 0x23, 0x29)
	colMuted     = rgb(0x66, 0x6d, 0x78)
	colFaint     = rgb(0xa8, 0xae, 0xb8)
	colGrid      = rgb(0xec, 0xee, 0xf1)
	colAxis      = rgb(0xb9, 0xbe, 0xc6)
	colAccent    = rgb(0x25, 0x63, 0xeb)
	colGood      = rgb(0x16, 0x8a, 0x3e)
	colWarn      = rgb(0xd9, 0x77, 0x06)
	colBad       = rgb(0xdc, 0x26, 0x26)
	colBadBg     = rgb(0xfd, 0xec, 0xec)
	colButton    = rgb(0xe9, 0xec, 0xf1)
	colButtonHot = rgb(0xd9, 0xe2, 0xf3)
	colOn        = rgb(0x16, 0x8a, 0x3e)
	colOff       = rgb(0x9c, 0xa3, 0xaf)
	colOverlay   = color.RGBA{0x1f, 0x23, 0x29, 0xb0}
	colUnlabeled = rgb(0x9c, 0xa3, 0xaf)
)

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{r, g, b, 0xff} }

// WithAlpha returns c with alpha a (0…1).
func WithAlpha(c color.RGBA, a float64) color.RGBA {
	c.A = uint8(math.Round(clamp(a, 0, 1) * 255))
	return c
}

// categorical is Tableau 10: distinguishable, also for most colour-blind
// viewers, and dark enough on white.
var categorical = []color.RGBA{
	rgb(0x4e, 0x79, 0xa7), rgb(0xf2, 0x8e, 0x2b), rgb(0xe1, 0x57, 0x59), rgb(0x76, 0xb7, 0xb2),
	rgb(0x59, 0xa1, 0x4f), rgb(0xed, 0xc9, 0x48), rgb(0xb0, 0x7a, 0xa1), rgb(0xff, 0x9d, 0xa7),
	rgb(0x9c, 0x75, 0x5f), rgb(0x79, 0x70, 0x6e),
}

// named colours: when a label set names colours (the shapes dataset's
// "colour" labels), a point is drawn in the colour it names, so nobody has
// to look up which swatch means "red". Tuned to read on white.
var named = map[string]color.RGBA{
	"red":     rgb(0xdc, 0x26, 0x26),
	"orange":  rgb(0xf9, 0x73, 0x16),
	"yellow":  rgb(0xd4, 0xb1, 0x06),
	"green":   rgb(0x16, 0xa3, 0x4a),
	"cyan":    rgb(0x06, 0xb6, 0xd4),
	"blue":    rgb(0x25, 0x63, 0xeb),
	"purple":  rgb(0x93, 0x33, 0xea),
	"violet":  rgb(0x7c, 0x3a, 0xed),
	"pink":    rgb(0xec, 0x48, 0x99),
	"magenta": rgb(0xc0, 0x26, 0xd3),
	"brown":   rgb(0x92, 0x40, 0x0e),
	"black":   rgb(0x11, 0x11, 0x11),
	"grey":    rgb(0x6b, 0x72, 0x80),
	"gray":    rgb(0x6b, 0x72, 0x80),
	"white":   rgb(0xd1, 0xd5, 0xdb), // light grey: white vanishes on the page
}

// Palette returns one colour per class of a label set: the named colours
// when every class names one, else Tableau 10, else evenly spaced hues.
func Palette(classes []string) []color.RGBA {
	out := make([]color.RGBA, len(classes))
	allNamed := len(classes) > 0
	for _, c := range classes {
		if _, ok := named[strings.ToLower(c)]; !ok {
			allNamed = false
			break
		}
	}
	for i, c := range classes {
		switch {
		case allNamed:
			out[i] = named[strings.ToLower(c)]
		case len(classes) <= len(categorical):
			out[i] = categorical[i]
		default:
			// The golden angle spreads any number of hues apart; lightness
			// alternates so neighbours differ twice.
			l := 0.45
			if i%2 == 1 {
				l = 0.62
			}
			out[i] = hsl(math.Mod(float64(i)*137.508, 360), 0.65, l)
		}
	}
	return out
}

// seriesColours colour the lines of one chart (kNN per label set).
var seriesColours = []color.RGBA{rgb(0x25, 0x63, 0xeb), rgb(0xea, 0x58, 0x0c), rgb(0x16, 0xa3, 0x4a), rgb(0x93, 0x33, 0xea)}

func hsl(h, s, l float64) color.RGBA {
	c := (1 - math.Abs(2*l-1)) * s
	hp := h / 60
	x := c * (1 - math.Abs(math.Mod(hp, 2)-1))
	var r, g, b float64
	switch {
	case hp < 1:
		r, g = c, x
	case hp < 2:
		r, g = x, c
	case hp < 3:
		g, b = c, x
	case hp < 4:
		g, b = x, c
	case hp < 5:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := l - c/2
	f := func(v float64) uint8 { return uint8(math.Round(clamp(v+m, 0, 1) * 255)) }
	return rgb(f(r), f(g), f(b))
}
