package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
)

// The command decoder reads JSON one member at a time instead of
// unmarshalling into a struct, because encoding/json is too forgiving for
// input from a browser we do not control: it matches keys without regard to
// case, keeps the last of duplicate keys, turns null into "unchanged" and
// reports type errors with Go type names. Walking the members lets the
// decoder reject all of those and name the field in every error.

// member is one key/value pair of a JSON object, the value still raw.
type member struct {
	key string
	val json.RawMessage
}

// members splits the JSON object in b into its members, in order. On a
// syntax error it returns the members read before it, so that the command
// id can still be recovered.
func members(b []byte, field string) ([]member, error) {
	// Look before tokenising: the decoder would turn a top-level number into
	// a float64 and echo all of it in its error.
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 && t[0] != '{' {
		return nil, errf(field, "must be a JSON object, got %s", kind(t))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxErr(field, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' { // unreachable after the check above
		return nil, errf(field, "must be a JSON object")
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ms, syntaxErr(field, err)
		}
		key, ok := tok.(string)
		if !ok { // unreachable: the decoder only yields string keys here
			return ms, errf(field, "malformed JSON: object key is not a string")
		}
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return ms, syntaxErr(join(field, key), err)
		}
		ms = append(ms, member{key, val})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return ms, syntaxErr(field, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return ms, errf(field, "trailing data after the JSON object")
	}
	return ms, nil
}

// fields checks that every key of ms is in allowed and appears once, and
// returns the members by key. A null value counts as absent.
func fields(ms []member, field string, allowed ...string) (map[string]json.RawMessage, error) {
	got := make(map[string]json.RawMessage, len(ms))
	for _, m := range ms {
		known := false
		for _, a := range allowed {
			known = known || m.key == a
		}
		if !known {
			return nil, errf(join(field, m.key), "unknown field%s", allowedList(allowed))
		}
		if _, dup := got[m.key]; dup {
			return nil, errf(join(field, m.key), "duplicate field")
		}
		got[m.key] = m.val
	}
	for k, v := range got {
		if string(v) == "null" {
			delete(got, k)
		}
	}
	return got, nil
}

func allowedList(allowed []string) string {
	if len(allowed) == 0 {
		return " (no fields allowed here)"
	}
	s := " (allowed: "
	for i, a := range allowed {
		if i > 0 {
			s += ", "
		}
		s += a
	}
	return s + ")"
}

// join makes the JSON path of a member; keys that are not short
// identifiers (hostile input) are quoted and cut short.
func join(parent, key string) string {
	plain := key != "" && len(key) <= 40
	for i := 0; i < len(key); i++ {
		c := key[i]
		plain = plain && ('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_')
	}
	if !plain {
		key = "[" + quote(key) + "]"
		if parent == "" {
			return key
		}
		return parent + key
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func syntaxErr(field string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errf(field, "malformed JSON: unexpected end of input")
	}
	msg := err.Error()
	if len(msg) > 120 { // errors of encoding/json may quote the input
		msg = msg[:120] + "…"
	}
	return errf(field, "malformed JSON: %s", strings.ToValidUTF8(msg, "?"))
}

// kind names the JSON type of a raw value for error messages.
func kind(raw []byte) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a number"
	}
	return "malformed JSON"
}

func getString(field string, raw []byte) (string, error) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", errf(field, "must be a string, got %s", kind(raw))
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", errf(field, "malformed string: %v", err)
	}
	return s, nil
}

func getBool(field string, raw []byte) (bool, error) {
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errf(field, "must be true or false, got %s", kind(raw))
}

// getFloat reads a JSON number. Numbers beyond float64 are rejected as not
// finite; numbers below its smallest subnormal read as 0.
func getFloat(field string, raw []byte) (float64, error) {
	if kind(raw) != "a number" {
		return 0, errf(field, "must be a number, got %s", kind(raw))
	}
	x, err := strconv.ParseFloat(string(raw), 64)
	if math.IsInf(x, 0) {
		return 0, errf(field, "must be a finite number, got %s", quote(string(raw)))
	}
	if err != nil {
		return 0, errf(field, "malformed number %s", quote(string(raw)))
	}
	return x, nil
}

// getInt reads a JSON number that must be an integer in lo..hi. Exponent
// forms of integers (1e3, as some JSON writers produce) are accepted.
func getInt(field string, raw []byte, lo, hi int) (int, error) {
	if kind(raw) != "a number" {
		return 0, errf(field, "must be an integer, got %s", kind(raw))
	}
	x, err := strconv.ParseFloat(string(raw), 64)
	if err != nil && !math.IsInf(x, 0) {
		return 0, errf(field, "malformed number %s", quote(string(raw)))
	}
	if x != math.Trunc(x) {
		return 0, errf(field, "must be an integer, got %s", quote(string(raw)))
	}
	if !(x >= float64(lo) && x <= float64(hi)) {
		return 0, errf(field, "must be in %d..%d, got %s", lo, hi, quote(string(raw)))
	}
	return int(x), nil
}

// getID reads a command id: a plain non-negative integer up to MaxCommandID.
func getID(field string, raw []byte) (uint64, error) {
	if kind(raw) != "a number" {
		return 0, errf(field, "must be an integer, got %s", kind(raw))
	}
	id, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil || id > MaxCommandID {
		return 0, errf(field, "must be an integer in 0..%d, got %s", uint64(MaxCommandID), quote(string(raw)))
	}
	return id, nil
}
