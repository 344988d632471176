package server

import (
	"strings"
	"testing"
	"time"

	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/viz/proto"
)

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost:8080": true, "[::1]:8080": true, "127.1.2.3:80": true,
		"lab.localhost:1": true, "0.0.0.0:8080": false, ":8080": false, "[::]:8080": false,
		"192.168.1.5:8080": false, "example.org:80": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v", addr, got)
		}
	}
}

func TestToken(t *testing.T) {
	a, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewToken()
	if len(a) != 32 || a == b || validToken(a) != nil {
		t.Fatalf("tokens %q %q", a, b)
	}
	if !tokenOK(a, a) || tokenOK(a, b) || tokenOK(a, "") || tokenOK("", "") || tokenOK(a, a[:31]) {
		t.Fatal("tokenOK")
	}
}

func TestBucket(t *testing.T) {
	now := time.Unix(0, 0)
	b := newBucket(10, 3, now)
	for i := range 3 {
		if !b.take(now) {
			t.Fatalf("take %d of the burst refused", i)
		}
	}
	if b.take(now) {
		t.Fatal("take beyond the burst allowed")
	}
	if !b.take(now.Add(100*time.Millisecond)) || b.take(now.Add(100*time.Millisecond)) {
		t.Fatal("refill of one token in 100 ms at 10/s")
	}
	if b.take(now.Add(50 * time.Millisecond)) {
		t.Fatal("a clock going back must not refill")
	}
}

// TestConvert: what a preset file allows but the protocol cannot say is
// clamped, and text is made fit to send.
func TestConvert(t *testing.T) {
	r := lab.RunInfo{ID: "r1", Name: "big lr", State: lab.Running, Step: 5, Arch: "tiny", Dataset: "shapes", ProjDim: 64,
		Knobs: lab.KnobValues{Predictor: true, LR: 20, Batch: 8192, TauBase: 0.99, TauSchedule: "cosine", PredLRMult: 1,
			Augment: map[string]bool{"crop": true, "mystery": true}}}
	p := runInfo(r)
	if !fitRun(&p) || p.Validate() != nil || p.Knobs.LR != proto.MaxLR || p.Knobs.Batch != proto.MaxBatch {
		t.Fatalf("fitRun: %+v %v", p.Knobs, p.Validate())
	}
	if _, ok := p.Knobs.Augment["mystery"]; ok || !p.Knobs.Augment["crop"] {
		t.Fatalf("augment %v", p.Knobs.Augment)
	}
	r.Knobs.LR, r.Knobs.Batch = 0.001, 64
	p = runInfo(r)
	if fitRun(&p) || len(p.Config) == 0 {
		t.Fatal("a valid run was changed")
	}
	if s := cleanText("a\x00b\u202ec\nd" + strings.Repeat("é", 5000)); len(s) > proto.MaxTextLen || strings.ContainsAny(s, "\x00\u202e") || !strings.HasPrefix(s, "a\uFFFDb\uFFFDc\nd") {
		t.Fatalf("cleanText: %q…", s[:20])
	}
	if cleanName("\x01\x02", "r1") != "r1" || cleanName(strings.Repeat("x", 100), "") != strings.Repeat("x", 64) {
		t.Fatal("cleanName")
	}
	for kind, want := range map[string]string{lab.NoticeNaN: proto.EventNaN, lab.NoticeFinished: proto.EventPaused,
		lab.NoticeSet: proto.EventInfo, lab.NoticeCollapse: proto.EventCollapse, "new-kind": proto.EventInfo} {
		if got := eventKind(kind); got != want {
			t.Errorf("eventKind(%s) = %s", kind, got)
		}
	}
}
