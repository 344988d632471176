package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// File names inside the run directory.
const (
	JSONLName = "metrics.jsonl"
	CSVName   = "metrics.csv"
)

// Writer records evaluations to DIR/metrics.jsonl and DIR/metrics.csv.
//
// Each Append writes one JSON line and fsyncs it before returning, so a
// crash loses nothing already evaluated. The CSV's header is the union of all
// keys seen so far (in first-seen order) and may grow when a later record
// brings a new metric, so the whole CSV is rewritten atomically on every
// Append; evaluations are rare enough that this costs nothing.
// A Writer is not safe for concurrent use.
type Writer struct {
	dir     string
	jsonl   *os.File
	records []Record
}

// Create starts fresh metrics files in dir (created if needed), replacing
// any from an earlier run.
func Create(dir string) (*Writer, error) {
	return open(dir, nil)
}

// Resume continues the metrics of an interrupted run in dir: records with
// step ≤ upToStep (the step of the checkpoint being resumed) are kept, later
// ones are dropped because the resumed run will evaluate them again. A
// missing metrics.jsonl starts empty; a torn last line (a crash during the
// final write) is discarded.
func Resume(dir string, upToStep float64) (*Writer, error) {
	b, err := os.ReadFile(filepath.Join(dir, JSONLName))
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("report: %w", err)
	}
	if n := bytes.LastIndexByte(b, '\n'); n+1 < len(b) {
		b = b[:n+1] // drop a torn final line
	}
	recs, err := DecodeJSONL(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", filepath.Join(dir, JSONLName), err)
	}
	kept := recs[:0]
	for _, r := range recs {
		if step, ok := r["step"]; !ok || step <= upToStep {
			kept = append(kept, r)
		}
	}
	return open(dir, kept)
}

func open(dir string, records []Record) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	jpath := filepath.Join(dir, JSONLName)
	// Rewrite the kept history atomically, then append to it.
	if err := writeAtomic(jpath, func(w io.Writer) error { return EncodeJSONL(w, records) }); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(jpath, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	w := &Writer{dir: dir, jsonl: f, records: records}
	if err := w.writeCSV(); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// Append records one evaluation. The record is copied.
func (w *Writer) Append(r Record) error {
	if w.jsonl == nil {
		return fmt.Errorf("report: Append on a closed Writer")
	}
	line, err := r.MarshalJSON()
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	// One write per line: a crash leaves at most one torn line, which
	// Resume discards.
	if _, err := w.jsonl.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := w.jsonl.Sync(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	c := make(Record, len(r))
	for k, v := range r {
		c[k] = v
	}
	w.records = append(w.records, c)
	return w.writeCSV()
}

// Records returns the evaluations recorded so far (shared, do not modify).
func (w *Writer) Records() []Record { return w.records }

// Dir returns the run directory.
func (w *Writer) Dir() string { return w.dir }

// Close closes metrics.jsonl. Everything is already on disk.
func (w *Writer) Close() error {
	if w.jsonl == nil {
		return nil
	}
	err := w.jsonl.Close()
	w.jsonl = nil
	return err
}

func (w *Writer) writeCSV() error {
	return writeAtomic(filepath.Join(w.dir, CSVName), func(out io.Writer) error {
		return EncodeCSV(out, w.records)
	})
}

// Columns returns the union of the records' keys in first-seen order (each
// record's keys taken in Record.Keys order).
func Columns(records []Record) []string {
	var cols []string
	seen := map[string]bool{}
	for _, r := range records {
		for _, k := range r.Keys() {
			if !seen[k] {
				seen[k] = true
				cols = append(cols, k)
			}
		}
	}
	return cols
}

// EncodeCSV writes records as CSV with a Columns header. Missing values are
// empty fields; NaN and infinities are spelled NaN, Inf and -Inf.
func EncodeCSV(w io.Writer, records []Record) error {
	cols := Columns(records)
	cw := csv.NewWriter(w)
	if err := cw.Write(cols); err != nil {
		return err
	}
	row := make([]string, len(cols))
	for _, r := range records {
		for i, c := range cols {
			row[i] = ""
			if v, ok := r[c]; ok {
				row[i] = formatCSV(v)
			}
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// EncodeJSONL writes one JSON object per record, one per line.
func EncodeJSONL(w io.Writer, records []Record) error {
	for _, r := range records {
		line, err := r.MarshalJSON()
		if err != nil {
			return err
		}
		if _, err := w.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// DecodeJSONL reads metrics.jsonl content; blank lines are skipped and
// errors name the line.
func DecodeJSONL(r io.Reader) ([]Record, error) {
	var recs []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		recs = append(recs, rec)
	}
	return recs, sc.Err()
}

// ReadJSONL reads a metrics.jsonl file, e.g. to re-plot a finished run.
func ReadJSONL(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer f.Close()
	recs, err := DecodeJSONL(f)
	if err != nil {
		return nil, fmt.Errorf("report: %s: %w", path, err)
	}
	return recs, nil
}
