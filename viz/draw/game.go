//go:build js

package draw

import (
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/inpututil"

	"github.com/byol-lab/byol-lab/viz/proto"
	"github.com/byol-lab/byol-lab/viz/ui"
)

// Game is the ebiten game: Update turns input into commands, Draw renders
// the App's scene, LayoutF makes the screen as large as the canvas in
// device pixels, so that text and points are sharp on HiDPI screens.
type Game struct {
	App      *ui.App
	Renderer *Renderer
	// Send delivers a command to the server.
	Send func(proto.Command)
	// AfterDraw runs after every frame (the page's frame counter, the URL).
	AfterDraw func(sc *ui.Scene)

	w, h, s  float64
	chars    []rune
	touches  []ebiten.TouchID
	touching bool
	touchX   int
	touchY   int
	keys     []ebiten.Key
	input    ui.Input
}

// namedKeys are the keys that type no character but do something.
var namedKeys = map[ebiten.Key]string{
	ebiten.KeyEscape: "Escape",
	ebiten.KeyTab:    "Tab",
	ebiten.KeyDelete: "Delete",
}

// Update implements ebiten.Game.
func (g *Game) Update() error {
	in := &g.input
	in.Keys = in.Keys[:0]
	x, y := ebiten.CursorPosition()
	down := ebiten.IsMouseButtonPressed(ebiten.MouseButtonLeft)
	pressed := inpututil.IsMouseButtonJustPressed(ebiten.MouseButtonLeft)
	released := inpututil.IsMouseButtonJustReleased(ebiten.MouseButtonLeft)
	// A finger works as the mouse: classrooms have tablets.
	g.touches = ebiten.AppendTouchIDs(g.touches[:0])
	if len(g.touches) > 0 {
		id := g.touches[0]
		x, y = ebiten.TouchPosition(id)
		g.touchX, g.touchY = x, y
		down, pressed = true, inpututil.TouchPressDuration(id) == 1
		g.touching = true
	} else if g.touching {
		x, y, released = g.touchX, g.touchY, true
		g.touching = false
	}
	in.X, in.Y, in.Down, in.Pressed, in.Released = float64(x), float64(y), down, pressed, released
	g.chars = ebiten.AppendInputChars(g.chars[:0])
	for _, c := range g.chars {
		in.Keys = append(in.Keys, string(c))
	}
	g.keys = inpututil.AppendJustPressedKeys(g.keys[:0])
	for _, k := range g.keys {
		if name, ok := namedKeys[k]; ok {
			in.Keys = append(in.Keys, name)
		}
	}
	for _, c := range g.App.Update(*in, time.Now()) {
		g.Send(c)
	}
	return nil
}

// Draw implements ebiten.Game.
func (g *Game) Draw(screen *ebiten.Image) {
	sc := g.App.Scene(g.w, g.h, g.s, time.Now())
	g.Renderer.Draw(screen, sc)
	if g.AfterDraw != nil {
		g.AfterDraw(sc)
	}
}

// Layout implements ebiten.Game; LayoutF is used instead.
func (g *Game) Layout(w, h int) (int, int) { panic("draw: LayoutF is used") }

// LayoutF implements ebiten.LayoutFer: one screen pixel per device pixel.
func (g *Game) LayoutF(w, h float64) (float64, float64) {
	s := ebiten.Monitor().DeviceScaleFactor()
	if !(s > 0) {
		s = 1
	}
	g.w, g.h, g.s = w*s, h*s, s
	return g.w, g.h
}
