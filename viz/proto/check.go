package proto

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// fieldError is a validation failure of one field. Field is the JSON path
// ("args.knobs.lr", "runs[2].state"), so messages name what to fix.
type fieldError struct {
	Field string
	Msg   string
}

func (e *fieldError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

func errf(field, format string, a ...any) *fieldError {
	return &fieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// prefix moves a fieldError under a parent path; other errors pass through.
func prefix(parent string, err error) error {
	if fe, ok := err.(*fieldError); ok {
		f := parent
		if fe.Field != "" {
			if fe.Field[0] == '[' {
				f += fe.Field
			} else {
				f += "." + fe.Field
			}
		}
		return &fieldError{Field: f, Msg: fe.Msg}
	}
	return err
}

// checkID validates a run id, preset name or label-set name: 1..MaxIDLen
// bytes of [A-Za-z0-9._-]. Ids travel in binary frames and in URLs and
// may name files on the server, so they are kept to a set that needs no
// escaping anywhere and cannot spell a path. It takes []byte too, so that
// the snapshot decoder checks an id before (and without) copying it.
func checkID[S ~string | ~[]byte](field string, s S) error {
	if len(s) == 0 {
		return errf(field, "must not be empty")
	}
	if len(s) > MaxIDLen {
		return errf(field, "must be at most %d bytes, got %d", MaxIDLen, len(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isIDByte(c) {
			return errf(field, "invalid character %q at byte %d (allowed: A-Z a-z 0-9 . _ -)", c, i)
		}
	}
	if len(s) <= 2 && s[0] == '.' && s[len(s)-1] == '.' {
		return errf(field, "must not be %q", string(s))
	}
	return nil
}

func isIDByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// checkName validates a display name: 1..MaxNameLen printable runes of
// valid UTF-8 (unicode.IsPrint: letters, marks, numbers, punctuation,
// symbols and the ASCII space; no control or format characters, which could
// reorder or hide text in a classroom).
func checkName(field, s string) error {
	if s == "" {
		return errf(field, "must not be empty")
	}
	if !utf8.ValidString(s) {
		return errf(field, "must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > MaxNameLen {
		return errf(field, "must be at most %d characters, got %d", MaxNameLen, n)
	}
	for i, r := range s {
		if !unicode.IsPrint(r) {
			return errf(field, "non-printable character %U at byte %d", r, i)
		}
	}
	return nil
}

// checkToken validates a teacher token: 1..MaxTokenLen bytes of printable
// ASCII without space.
func checkToken(field, s string) error {
	if s == "" {
		return errf(field, "must not be empty")
	}
	if len(s) > MaxTokenLen {
		return errf(field, "must be at most %d bytes, got %d", MaxTokenLen, len(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e {
			return errf(field, "invalid character %q at byte %d (printable ASCII only)", c, i)
		}
	}
	return nil
}

// checkText validates free text: valid UTF-8, at most MaxTextLen bytes.
// Newlines and tabs are allowed (error messages); other control characters
// are not.
func checkText(field, s string) error {
	if len(s) > MaxTextLen {
		return errf(field, "must be at most %d bytes, got %d", MaxTextLen, len(s))
	}
	if !utf8.ValidString(s) {
		return errf(field, "must be valid UTF-8")
	}
	for i, r := range s {
		if r != '\n' && r != '\t' && !unicode.IsPrint(r) {
			return errf(field, "non-printable character %U at byte %d", r, i)
		}
	}
	return nil
}

// checkRange validates lo ≤ x ≤ hi; NaN and ±Inf always fail.
func checkRange(field string, x, lo, hi float64) error {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return errf(field, "must be a finite number, got %v", x)
	}
	if !(x >= lo && x <= hi) {
		return errf(field, "must be in [%g, %g], got %g", lo, hi, x)
	}
	return nil
}

// quote quotes s for an error message, cut to 40 bytes so that a hostile
// message cannot make the error reply large.
func quote(s string) string {
	const max = 40
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q…", s[:cut])
}

// sanitizeText makes s pass checkText: invalid UTF-8 and characters
// checkText refuses become U+FFFD, and the result is cut to MaxTextLen bytes
// on a character boundary.
func sanitizeText(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r != '\n' && r != '\t' && !unicode.IsPrint(r) {
			r = utf8.RuneError
		}
		if b.Len()+utf8.RuneLen(r) > MaxTextLen {
			break
		}
		b.WriteRune(r)
	}
	return b.String()
}
