package ui

import (
	"slices"
	"testing"
)

func TestViewRoundTrip(t *testing.T) {
	for _, v := range []View{
		DefaultView(),
		{Preset: "tau", Runs: []string{"byol", "no-pred"}, Label: "colour", Links: true, Cloud: CloudPred, Zoom: ZoomFixed, Hide: []string{HideControls}},
		{Runs: []string{"a.b_c-1"}, Cloud: CloudProj, Zoom: ZoomPanel, Hide: []string{HideCharts, HideControls}},
	} {
		frag := v.Encode()
		got := ParseView(frag)
		if got.Encode() != frag || !slices.Equal(got.Runs, v.Runs) || got.Label != v.Label || got.Links != v.Links ||
			got.Preset != v.Preset || !slices.Equal(got.Hide, v.Hide) {
			t.Errorf("round trip of %+v through %q gave %+v", v, frag, got)
		}
		if got2 := ParseView("#" + frag); got2.Encode() != frag {
			t.Errorf("a leading # changed the view: %q", got2.Encode())
		}
	}
	if got := DefaultView().Encode(); got != "" {
		t.Errorf("the default view should be an empty link, got %q", got)
	}
	want := "preset=tau&runs=byol,no-pred&label=colour&links=1&cloud=pred&zoom=fixed&hide=controls"
	v := View{Preset: "tau", Runs: []string{"byol", "no-pred"}, Label: "colour", Links: true, Cloud: CloudPred, Zoom: ZoomFixed, Hide: []string{HideControls}}
	if got := v.Encode(); got != want {
		t.Errorf("Encode = %q, want %q", got, want)
	}
}

func TestParseViewIgnoresGarbage(t *testing.T) {
	v := ParseView("#preset=../etc&runs=a,a,b c,,d,e,f,g&label=%00&links=yes&cloud=x&zoom=99&hide=everything&unknown=1")
	if v.Preset != "" || v.Label != "" || v.Links || v.Cloud != CloudProj || v.Zoom != ZoomShared || len(v.Hide) != 0 {
		t.Errorf("bad values should keep their defaults: %+v", v)
	}
	// Valid ids kept, duplicates and invalid ones dropped, at most MaxPanels.
	if !slices.Equal(v.Runs, []string{"a", "d", "e", "f"}) {
		t.Errorf("runs = %q", v.Runs)
	}
}

func TestTokenFromFragment(t *testing.T) {
	tok, rest := TokenFromFragment("#label=colour&token=s3cr%21t&links=1")
	if tok != "s3cr!t" || rest != "label=colour&links=1" {
		t.Errorf("token %q rest %q", tok, rest)
	}
	if tok, _ := TokenFromFragment("#token=has%20space"); tok != "" {
		t.Errorf("a token with a space is not a protocol token: %q", tok)
	}
	a := NewApp("#token=teacher-1&runs=byol")
	if a.Token() != "teacher-1" || a.Fragment() != "runs=byol" {
		t.Errorf("token %q, fragment %q: the token must stay out of the link", a.Token(), a.Fragment())
	}
}
