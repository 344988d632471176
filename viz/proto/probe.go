package proto

import (
	"strconv"
	"strings"
)

// ProbePath is the HTTP path under which the server serves the probe
// images: GET ProbePath + "{probe}/{i}.png" (see [ProbeImagePath]).
const ProbePath = "/probe/"

// ProbeImagePath is the path of probe image i of the probe set named probe
// (Hello.Probe). The probe set's name is in the path so that a browser
// never shows an image of an earlier probe set under a later one's point,
// and so that the server may let browsers cache the images for good.
func ProbeImagePath(probe string, i int) string {
	return ProbePath + probe + "/" + strconv.Itoa(i) + ".png"
}

// ParseProbeImagePath reads a path made by [ProbeImagePath]. It accepts
// exactly one spelling per image (decimal index without leading zeros, in
// 0 … MaxPoints−1, a valid id), so each image has one URL to cache.
func ParseProbeImagePath(path string) (probe string, i int, ok bool) {
	rest, found := strings.CutPrefix(path, ProbePath)
	if !found {
		return "", 0, false
	}
	probe, file, found := strings.Cut(rest, "/")
	if !found || checkID("probe", probe) != nil {
		return "", 0, false
	}
	num, found := strings.CutSuffix(file, ".png")
	if !found || len(num) == 0 || len(num) > 5 || (num[0] == '0' && len(num) > 1) {
		return "", 0, false
	}
	for k := 0; k < len(num); k++ {
		if num[k] < '0' || num[k] > '9' {
			return "", 0, false
		}
	}
	i, err := strconv.Atoi(num)
	if err != nil || i >= MaxPoints {
		return "", 0, false
	}
	return probe, i, true
}
