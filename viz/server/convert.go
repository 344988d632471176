package server

import (
	"encoding/json"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/byol-lab/byol-lab/core/lab"
	"github.com/byol-lab/byol-lab/viz/proto"
)

// This file turns the lab's events into protocol messages. The lab checks
// its own inputs, but a preset file may hold values the protocol cannot
// express (lr 20, a name that is not an id): those are clamped or dropped
// here with the logger told, so that one odd run never stops the stream.

// runInfo converts a lab run description.
func runInfo(r lab.RunInfo) proto.RunInfo {
	k := r.Knobs
	p := proto.RunInfo{
		ID: r.ID, Name: r.Name, State: string(r.State), Step: uint64(max(r.Step, 0)), Parent: r.Parent,
		Knobs: proto.Knobs{
			Predictor: k.Predictor, TauBase: k.TauBase, TauSchedule: k.TauSchedule, LR: k.LR,
			Batch: k.Batch, PredLRMult: k.PredLRMult, Augment: map[string]bool{},
		},
		Arch: r.Arch, Dataset: r.Dataset, ProjOut: r.ProjDim,
	}
	for name, on := range k.Augment {
		if proto.IsAugmentName(name) {
			p.Knobs.Augment[name] = on
		}
	}
	if c, err := json.Marshal(r.Config); err == nil && len(c) <= proto.MaxConfigLen {
		p.Config = c
	}
	return p
}

// fitRun makes p valid for the protocol where the lab allows more: knobs
// are clamped to the protocol's ranges, names cleaned. It reports whether
// it changed anything.
func fitRun(p *proto.RunInfo) bool {
	if p.Validate() == nil {
		return false
	}
	k := &p.Knobs
	k.TauBase = clamp(k.TauBase, proto.MinTauBase, proto.MaxTauBase)
	k.LR = clamp(k.LR, math.SmallestNonzeroFloat64, proto.MaxLR)
	k.PredLRMult = clamp(k.PredLRMult, proto.MinPredLRMult, proto.MaxPredLRMult)
	k.Batch = min(max(k.Batch, proto.MinBatch), proto.MaxBatch)
	if k.TauSchedule != proto.TauConstant {
		k.TauSchedule = proto.TauCosine
	}
	p.Name = cleanName(p.Name, p.ID)
	p.Arch = cleanName(p.Arch, "?")
	p.Dataset = cleanName(p.Dataset, "?")
	p.ProjOut = min(max(p.ProjOut, 1), proto.MaxDim)
	if p.Parent != "" && !isID(p.Parent) {
		p.Parent = ""
	}
	if p.Validate() != nil {
		p.Config = nil
	}
	return true
}

func clamp(x, lo, hi float64) float64 {
	if math.IsNaN(x) {
		return lo
	}
	return math.Min(math.Max(x, lo), hi)
}

// isID reports whether s follows the protocol's id rule.
func isID(s string) bool {
	if len(s) == 0 || len(s) > proto.MaxIDLen || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// cleanName returns s as a protocol name: printable, at most MaxNameLen
// runes; def when nothing is left.
func cleanName(s, def string) string {
	s = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	if utf8.RuneCountInString(s) > proto.MaxNameLen {
		s = string([]rune(s)[:proto.MaxNameLen])
	}
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// cleanText returns s as protocol text: valid UTF-8, printable plus \n and
// \t, at most MaxTextLen bytes.
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || unicode.IsPrint(r) {
			return r
		}
		return '\uFFFD'
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if len(s) > proto.MaxTextLen {
		cut := proto.MaxTextLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

// eventKind maps a lab notice kind to a protocol event kind.
func eventKind(kind string) string {
	switch kind {
	case lab.NoticeCreated:
		return proto.EventCreated
	case lab.NoticeDeleted:
		return proto.EventDeleted
	case lab.NoticeForked:
		return proto.EventForked
	case lab.NoticeReset:
		return proto.EventReset
	case lab.NoticePaused, lab.NoticeFinished:
		return proto.EventPaused
	case lab.NoticeResumed:
		return proto.EventResumed
	case lab.NoticeCollapse:
		return proto.EventCollapse
	case lab.NoticeRecovered:
		return proto.EventRecovered
	case lab.NoticeNaN:
		return proto.EventNaN
	case lab.NoticeError:
		return proto.EventError
	default: // set, preset, and kinds added later
		return proto.EventInfo
	}
}

// labelSets converts the probe's label sets, dropping any the protocol
// cannot carry.
func labelSets(p *lab.Probe) []proto.LabelSet {
	if p == nil {
		return nil
	}
	var out []proto.LabelSet
	for _, ls := range p.Labels {
		if len(out) == proto.MaxLabelSets || !isID(ls.Name) || len(ls.Classes) == 0 || len(ls.Classes) > proto.MaxClasses || len(ls.Y) != p.N {
			continue
		}
		s := proto.LabelSet{Name: ls.Name, Classes: make([]string, len(ls.Classes)), Y: make([]int32, len(ls.Y))}
		for i, c := range ls.Classes {
			s.Classes[i] = cleanName(c, "?")
		}
		for i, y := range ls.Y {
			if y < -1 || int(y) >= len(ls.Classes) {
				y = -1
			}
			s.Y[i] = y
		}
		out = append(out, s)
	}
	return out
}
