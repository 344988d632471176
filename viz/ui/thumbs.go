package ui

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"time"
)

// The point tooltip shows the probe image under the mouse. The App only
// says which image it wants (the one the last scene's tooltip showed) and
// keeps what arrives; the page fetches it over HTTP (viz/wsclient) from
// the URL the protocol names, which includes the probe set's name, so an
// image of an old probe set can never show up under a new one's point.

const (
	// thumbBox is the side of the square, in CSS pixels, a thumbnail is
	// shown in: a 32×32 image at three times its size.
	thumbBox = 96
	// maxThumbFetches bounds the fetches in flight: sweeping the mouse
	// over a cloud should not queue hundreds.
	maxThumbFetches = 4
	// thumbRetry is how long a failed image stays failed before a hover
	// tries again (a restarting server, a dropped connection).
	thumbRetry = 5 * time.Second
	// maxThumbs bounds the cache (about 4 KB per 32×32 image).
	maxThumbs = 2048
	// maxThumbSide refuses larger images: a thumbnail is small.
	maxThumbSide = 1024
)

// Thumbnail states, as the tooltip and Debug report them.
const (
	ThumbNone    = ""        // no image: the server serves none
	ThumbLoading = "loading" // asked for, not there yet
	ThumbShown   = "shown"
	ThumbFailed  = "failed"
)

type thumb struct {
	img     image.Image
	loading bool      // a fetch is in flight
	failed  time.Time // when the last fetch failed (zero: it did not)
	err     string
}

type thumbs struct {
	m        map[string]*thumb
	want     string // an image the last scene showed and has not got
	inFlight int
}

// get returns the image at url and its state, and asks for it when it is
// neither there nor on its way.
func (t *thumbs) get(url string, now time.Time) (image.Image, string) {
	th := t.m[url]
	switch {
	case th != nil && th.img != nil:
		return th.img, ThumbShown
	case th != nil && !th.failed.IsZero() && now.Sub(th.failed) < thumbRetry:
		return nil, ThumbFailed
	}
	if th == nil || !th.loading {
		t.want = url
	}
	return nil, ThumbLoading
}

// reset forgets every image (a new probe set); fetches in flight finish
// into nothing.
func (t *thumbs) reset() {
	clear(t.m)
	t.want = ""
}

// NextThumb returns the URL of an image to fetch now and marks it as on
// its way, or "" when there is none (or enough fetches are in flight).
// The page calls it once per frame and answers with ThumbLoaded.
func (a *App) NextThumb() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := &a.thumbs
	url := t.want
	if url == "" || t.inFlight >= maxThumbFetches {
		return ""
	}
	t.want = ""
	if t.m == nil {
		t.m = map[string]*thumb{}
	}
	th := t.m[url]
	if th == nil {
		if len(t.m) >= maxThumbs {
			clear(t.m)
		}
		th = &thumb{}
		t.m[url] = th
	}
	if th.loading || th.img != nil {
		return ""
	}
	th.loading = true
	t.inFlight++
	return url
}

// ThumbLoaded takes the answer to a fetch NextThumb asked for: the PNG's
// bytes, or why it failed.
func (a *App) ThumbLoaded(url string, data []byte, err error, now time.Time) {
	var img image.Image
	if err == nil {
		img, err = decodeThumb(data)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	t := &a.thumbs
	t.inFlight = max(0, t.inFlight-1)
	th := t.m[url]
	if th == nil || !th.loading {
		return // the probe set changed meanwhile
	}
	th.loading = false
	if err != nil {
		th.failed, th.err = now, err.Error()
		return
	}
	th.img, th.failed, th.err = img, time.Time{}, ""
}

// decodeThumb decodes a PNG after checking its size, so that a huge image
// cannot take the page's memory.
func decodeThumb(data []byte) (image.Image, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("probe image: %w", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxThumbSide || cfg.Height > maxThumbSide {
		return nil, fmt.Errorf("probe image: %d×%d pixels", cfg.Width, cfg.Height)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("probe image: %w", err)
	}
	return img, nil
}

// thumbFit is the size, in device pixels, at which an image of w×h pixels
// is shown in a box of side box: enlarged by a whole factor (so that each
// pixel the network sees stays a crisp square), or shrunk to fit.
func thumbFit(w, h int, box float64) (float64, float64) {
	if w < 1 || h < 1 {
		return 0, 0
	}
	side := float64(max(w, h))
	k := float64(int(box / side))
	if k < 1 {
		k = box / side
	}
	return float64(w) * k, float64(h) * k
}
