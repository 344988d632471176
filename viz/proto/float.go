package proto

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Float is a float64 that survives JSON when it is not finite. A diverged
// run has a NaN or infinite loss, and that is exactly when the lab must show
// it, but JSON has no NaN: encoding/json refuses to write one. Float writes
// finite values as JSON numbers and the others as the strings "NaN",
// "Infinity" and "-Infinity", which JavaScript's Number() also understands.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	x := float64(f)
	switch {
	case math.IsNaN(x):
		return []byte(`"NaN"`), nil
	case math.IsInf(x, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(x, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(x)
}

// UnmarshalJSON implements json.Unmarshaler: a JSON number, or one of the
// three strings MarshalJSON writes.
func (f *Float) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case `"NaN"`:
		*f = Float(math.NaN())
		return nil
	case `"Infinity"`:
		*f = Float(math.Inf(1))
		return nil
	case `"-Infinity"`:
		*f = Float(math.Inf(-1))
		return nil
	case "null":
		return nil // encoding/json's convention: null leaves the value alone
	}
	if len(b) == 0 || b[0] != '-' && (b[0] < '0' || b[0] > '9') {
		return fmt.Errorf("proto: Float: want a number, \"NaN\", \"Infinity\" or \"-Infinity\", got %s", quote(string(b)))
	}
	x, err := strconv.ParseFloat(string(b), 64)
	if err != nil && !math.IsInf(x, 0) {
		return fmt.Errorf("proto: Float: %w", err)
	}
	// A number too large for float64 reads as ±Inf, which is what it means.
	*f = Float(x)
	return nil
}
