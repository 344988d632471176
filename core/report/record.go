// Package report writes what a training run leaves behind in its --out
// directory: metrics.jsonl and metrics.csv (one row per evaluation) and PNG
// plots of the learning curves and of the embedding's PCA.
//
// Every file is written so that a crash never loses or corrupts what was
// already there: metrics.jsonl is appended to and fsynced one record at a
// time; the CSV and the PNGs are replaced atomically (temp file + rename).
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Record is one evaluation: metric name → value. Missing metrics are simply
// absent. NaN and ±Inf are legal values (a diverged loss is worth recording);
// JSON has no spelling for them, so they are written as null and read back
// as NaN (the sign of an infinity is lost in JSON; the CSV keeps it).
type Record map[string]float64

// KeyOrder is the column order of well-known metrics. Other keys follow in
// alphabetical order, so output never depends on map iteration.
var KeyOrder = []string{
	"step", "epoch", "loss", "lr", "tau", "imgs_per_s",
	"std", "rank", "knn", "knn_colour", "knn_pixels", "knn_random",
}

var keyRank = func() map[string]int {
	m := make(map[string]int, len(KeyOrder))
	for i, k := range KeyOrder {
		m[k] = i
	}
	return m
}()

// Keys returns r's keys: well-known ones in KeyOrder, then the rest sorted.
func (r Record) Keys() []string {
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, iok := keyRank[keys[i]]
		rj, jok := keyRank[keys[j]]
		switch {
		case iok && jok:
			return ri < rj
		case iok != jok:
			return iok
		}
		return keys[i] < keys[j]
	})
	return keys
}

// MarshalJSON writes r as one compact JSON object with keys in Keys order.
func (r Record) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, k := range r.Keys() {
		if i > 0 {
			b = append(b, ',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		b = append(b, kb...)
		b = append(b, ':')
		if v := r[k]; math.IsNaN(v) || math.IsInf(v, 0) {
			b = append(b, "null"...)
		} else {
			b = appendFloat(b, v)
		}
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads an object of numbers; null becomes NaN.
func (r *Record) UnmarshalJSON(b []byte) error {
	var raw map[string]*float64
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("report: record: %w", err)
	}
	if raw == nil {
		return fmt.Errorf("report: record is null, want an object")
	}
	*r = make(Record, len(raw))
	for k, v := range raw {
		if v == nil {
			(*r)[k] = math.NaN()
		} else {
			(*r)[k] = *v
		}
	}
	return nil
}

// appendFloat formats like encoding/json: shortest round-trip digits, plain
// notation for ordinary magnitudes (so step 1000000 is not 1e+06).
func appendFloat(b []byte, v float64) []byte {
	format := byte('f')
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, v, format, -1, 64)
}

// formatCSV spells a value for the CSV: NaN, Inf and -Inf as
// strconv.ParseFloat, pandas and spreadsheets read them.
func formatCSV(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return string(appendFloat(nil, v))
}
