package ui

import "strings"

// wrap breaks text into lines no wider than width (words longer than a
// line stay whole on their own line).
func wrap(text string, width, size float64, bold bool, m Measurer) []string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		words := strings.Fields(para)
		if len(words) == 0 {
			lines = append(lines, "")
			continue
		}
		cur := words[0]
		for _, w := range words[1:] {
			if m(cur+" "+w, size, bold) <= width {
				cur += " " + w
				continue
			}
			lines = append(lines, cur)
			cur = w
		}
		lines = append(lines, cur)
	}
	return lines
}

// ellipsize cuts text to fit width, ending it with "…".
func ellipsize(text string, width, size float64, bold bool, m Measurer) string {
	if m(text, size, bold) <= width {
		return text
	}
	r := []rune(text)
	lo, hi := 0, len(r)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if m(string(r[:mid])+"…", size, bold) <= width {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 {
		return ""
	}
	return strings.TrimRight(string(r[:lo]), " ") + "…"
}
