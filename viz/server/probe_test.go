package server

import (
	"bytes"
	"image"
	"image/png"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/viz/proto"
)

// TestProbeImages: the images the hello names are served as PNGs of the
// probe's pixels, to read-only viewers too, cacheable for good; anything
// else under /probe/ is a 404, and a new probe set gets a new name.
func TestProbeImages(t *testing.T) {
	opt := testOptions(t)
	opt.Token = "0123456789abcdef0123456789abcdef" // classroom: this client only watches
	ts := startServer(t, opt)
	c := dial(t, ts, dialOpt{})
	if !c.hello.ReadOnly {
		t.Fatal("viewer not read-only")
	}
	id := c.hello.Probe
	if len(id) != 16 {
		t.Fatalf("hello names probe %q, want 16 hex digits", id)
	}
	p := ts.Lab().Probe()

	get := func(method, path string, hdr http.Header) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+ts.addr+path, nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	for _, i := range []int{0, 7, p.N - 1} {
		resp, b := get("GET", proto.ProbeImagePath(id, i), nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("image %d: %d %s", i, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("image %d: Cache-Control %q", i, cc)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
		if img.Bounds() != image.Rect(0, 0, p.W, p.H) {
			t.Fatalf("image %d is %v, want %d×%d", i, img.Bounds(), p.W, p.H)
		}
		if got := channelMajor(img); !slices.Equal(got, p.Image(i)) {
			t.Errorf("image %d: the PNG's pixels are not the probe's", i)
		}
		// A browser that has it asks again with its ETag.
		resp, _ = get("GET", proto.ProbeImagePath(id, i), http.Header{"If-None-Match": {resp.Header.Get("ETag")}})
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("image %d with If-None-Match: %d, want 304", i, resp.StatusCode)
		}
	}
	for _, path := range []string{
		proto.ProbeImagePath(id, p.N),               // past the probe
		proto.ProbeImagePath("0000000000000000", 0), // another (older) probe set
		"/probe/" + id + "/01.png", "/probe/" + id + "/", "/probe/", "/probe/" + id + "/-1.png",
	} {
		if resp, _ := get("GET", path, nil); resp.StatusCode != 404 || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d (Cache-Control %q), want an uncached 404", path, resp.StatusCode, resp.Header.Get("Cache-Control"))
		}
	}
	if resp, _ := get("POST", proto.ProbeImagePath(id, 0), nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", resp.StatusCode)
	}
	// The Host check of every request applies (DNS rebinding).
	req, _ := http.NewRequest("GET", "http://"+ts.addr+proto.ProbeImagePath(id, 0), nil)
	req.Host = "rebound.example"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("foreign Host: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// Other images, another name, in the hello every client gets.
	q := *p
	q.Pix = slices.Clone(p.Pix)
	q.Pix[0] ^= 0xff
	ts.hub.Publish(lab.ProbeChanged{Probe: &q})
	c.waitFor("a new hello", 10*time.Second, func() bool { return c.hello.Probe != id })
	if again := ts.probeIDs.of(p); again != id {
		t.Errorf("the same probe is named %q, then %q", id, again)
	}
}

// channelMajor turns an image back into the probe's C×H×W bytes.
func channelMajor(img image.Image) []uint8 {
	b := img.Bounds()
	if g, ok := img.(*image.Gray); ok {
		return slices.Clone(g.Pix)
	}
	plane := b.Dx() * b.Dy()
	out := make([]uint8, 3*plane)
	for y := range b.Dy() {
		for x := range b.Dx() {
			r, g, bl, _ := img.At(x, y).RGBA()
			k := y*b.Dx() + x
			out[k], out[plane+k], out[2*plane+k] = uint8(r>>8), uint8(g>>8), uint8(bl>>8)
		}
	}
	return out
}

func TestProbePNG(t *testing.T) {
	for _, c := range []int{1, 3} {
		p := &lab.Probe{N: 2, C: c, H: 3, W: 5, Pix: make([]uint8, 2*c*3*5)}
		for i := range p.Pix {
			p.Pix[i] = uint8(i * 7)
		}
		b, err := probePNG(p, 1)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Dx() != 5 || img.Bounds().Dy() != 3 || !slices.Equal(channelMajor(img), p.Image(1)) {
			t.Errorf("C=%d: decoded %T %v does not match the probe", c, img, img.Bounds())
		}
	}
}
