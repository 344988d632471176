package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"image"
	"image/png"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/viz/proto"
)

// probeIDs names probe sets by their content: the first 64 bits of the
// SHA-256 of their size and pixels. A name that depends only on the images
// lets browsers cache them for good (the same probe after a restart has
// the same URLs) and can never name other images.
type probeIDs struct {
	mu   sync.Mutex
	last *lab.Probe // a Probe is immutable, so its name is computed once
	id   string
}

func (c *probeIDs) of(p *lab.Probe) string {
	if p == nil {
		return ""
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p != c.last {
		h := sha256.New()
		var dims [32]byte
		for k, v := range []int{p.N, p.C, p.H, p.W} {
			binary.LittleEndian.PutUint64(dims[8*k:], uint64(v))
		}
		h.Write(dims[:])
		h.Write(p.Pix)
		c.last, c.id = p, hex.EncodeToString(h.Sum(nil)[:8])
	}
	return c.id
}

// serveProbe serves GET /probe/{probe}/{i}.png: probe image i as a PNG at
// its native size. Thumbnails are view data, so read-only viewers get them
// too; only the Host check of every request applies. A probe name other
// than the current one (the dataset changed) is a 404, never another
// image.
func (s *Server) serveProbe(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	id, i, ok := proto.ParseProbeImagePath(r.URL.Path)
	p := s.lab.Probe()
	if !ok || p == nil || id != s.probeIDs.of(p) || i >= p.N {
		w.Header().Set("Cache-Control", "no-store") // the image may exist after the next hello
		http.NotFound(w, r)
		return
	}
	b, err := probePNG(p, i)
	if err != nil {
		s.logf("probe image %d: %v", i, err)
		http.Error(w, "cannot encode the image", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	// The URL names the content, so it never changes.
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+id+"-"+strconv.Itoa(i)+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	// Pages of other sites may not embed the lab's images.
	h.Set("Cross-Origin-Resource-Policy", "same-site")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

// probePNG encodes probe image i: grey for one channel, RGB for three or
// more (the first three), as the network sees it.
func probePNG(p *lab.Probe, i int) ([]byte, error) {
	pix := p.Image(i)
	plane := p.H * p.W
	rect := image.Rect(0, 0, p.W, p.H)
	var img image.Image
	if p.C < 3 {
		g := image.NewGray(rect)
		copy(g.Pix, pix[:plane])
		img = g
	} else {
		rgba := image.NewNRGBA(rect)
		for k := range plane {
			rgba.Pix[4*k+0] = pix[k]
			rgba.Pix[4*k+1] = pix[plane+k]
			rgba.Pix[4*k+2] = pix[2*plane+k]
			rgba.Pix[4*k+3] = 0xff
		}
		img = rgba
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
