package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestRecordJSON(t *testing.T) {
	r := Record{"zeta": 1, "knn": 0.5, "step": 1000000, "loss": math.NaN(), "lr": 3e-7, "aa": math.Inf(-1)}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"step":1000000,"loss":null,"lr":3e-7,"knn":0.5,"aa":null,"zeta":1}`
	if got := strings.ReplaceAll(string(b), "e-07", "e-7"); got != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if !json.Valid(b) {
		t.Errorf("invalid JSON %s", b)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if len(back) != 6 || back["step"] != 1000000 || back["lr"] != 3e-7 || !math.IsNaN(back["loss"]) || !math.IsNaN(back["aa"]) {
		t.Errorf("round trip gave %v", back)
	}
	if err := json.Unmarshal([]byte(`{"step":"x"}`), &back); err == nil {
		t.Error("string value accepted")
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestWriterRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run") // created by Create
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	recs := []Record{
		{"step": 0, "loss": 3.9, "lr": 0.001, "std": 0.05},
		{"step": 100, "loss": math.NaN(), "lr": 0.002, "knn": 0.31, "extra_b": 7},
		{"step": 200, "loss": 1.25, "knn": 0.42, "knn_pixels": 0.2, "std": math.Inf(1), "extra_a": -1},
	}
	for i, r := range recs {
		if err := w.Append(r); err != nil {
			t.Fatal(err)
		}
		// Everything appended so far is on disk already, before Close.
		got, err := ReadJSONL(filepath.Join(dir, JSONLName))
		if err != nil || len(got) != i+1 {
			t.Fatalf("after %d appends: %d records, %v", i+1, len(got), err)
		}
		if rows := readCSV(t, filepath.Join(dir, CSVName)); len(rows) != i+2 {
			t.Fatalf("after %d appends the CSV has %d rows", i+1, len(rows))
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Append(recs[0]); err == nil {
		t.Error("Append after Close succeeded")
	}

	raw, _ := os.ReadFile(filepath.Join(dir, JSONLName))
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	wantLines := []string{
		`{"step":0,"loss":3.9,"lr":0.001,"std":0.05}`,
		`{"step":100,"loss":null,"lr":0.002,"knn":0.31,"extra_b":7}`,
		`{"step":200,"loss":1.25,"std":null,"knn":0.42,"knn_pixels":0.2,"extra_a":-1}`,
	}
	for i := range wantLines {
		if i >= len(lines) || lines[i] != wantLines[i] {
			t.Fatalf("jsonl:\n%s\nwant:\n%s", raw, strings.Join(wantLines, "\n"))
		}
		if !json.Valid([]byte(lines[i])) {
			t.Errorf("line %d is not valid JSON", i+1)
		}
	}

	// The CSV header grew as new keys appeared, in first-seen order.
	rows := readCSV(t, filepath.Join(dir, CSVName))
	wantHeader := "step,loss,lr,std,knn,extra_b,knn_pixels,extra_a"
	if got := strings.Join(rows[0], ","); got != wantHeader {
		t.Errorf("header %s, want %s", got, wantHeader)
	}
	wantRows := []string{
		"0,3.9,0.001,0.05,,,,",
		"100,NaN,0.002,,0.31,7,,",
		"200,1.25,,Inf,0.42,,0.2,-1",
	}
	for i, want := range wantRows {
		if got := strings.Join(rows[i+1], ","); got != want {
			t.Errorf("CSV row %d: %s, want %s", i+1, got, want)
		}
	}
	// Every CSV cell parses back to the value written.
	for i, r := range recs {
		for j, col := range rows[0] {
			cell := rows[i+1][j]
			v, ok := r[col]
			if !ok {
				if cell != "" {
					t.Errorf("row %d %s: %q for a missing value", i+1, col, cell)
				}
				continue
			}
			got, err := strconv.ParseFloat(cell, 64)
			if err != nil || !(got == v || math.IsNaN(got) && math.IsNaN(v)) {
				t.Errorf("row %d %s: %q does not parse back to %v", i+1, col, cell, v)
			}
		}
	}
	assertNoTemps(t, dir)
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestResume(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []float64{0, 100, 200, 300} {
		if err := w.Append(Record{"step": s, "loss": 4 - s/100}); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	// Simulate a crash in the middle of writing a fifth line.
	f, _ := os.OpenFile(filepath.Join(dir, JSONLName), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"step":400,"lo`)
	f.Close()

	w, err = Resume(dir, 200) // the checkpoint was taken at step 200
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(Record{"step": 300, "loss": 0.5}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, err := ReadJSONL(filepath.Join(dir, JSONLName))
	if err != nil {
		t.Fatal(err)
	}
	var steps []float64
	for _, r := range got {
		steps = append(steps, r["step"])
	}
	if len(got) != 4 || steps[3] != 300 || got[3]["loss"] != 0.5 || steps[2] != 200 {
		t.Errorf("after resume: %v", got)
	}
	if rows := readCSV(t, filepath.Join(dir, CSVName)); len(rows) != 5 {
		t.Errorf("CSV has %d rows, want 5", len(rows))
	}

	// Resuming in a fresh directory just starts empty.
	w, err = Resume(filepath.Join(t.TempDir(), "new"), 0)
	if err != nil || len(w.Records()) != 0 {
		t.Errorf("resume of empty dir: %v %v", w, err)
	}
	w.Close()
}

func TestDecodeJSONLErrors(t *testing.T) {
	_, err := DecodeJSONL(strings.NewReader("{\"step\":1}\n\n{bad\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("error %v should name line 3", err)
	}
	_, err = ReadJSONL(filepath.Join(t.TempDir(), "missing.jsonl"))
	if err == nil {
		t.Error("missing file read")
	}
}

func TestEncodeCSVEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := EncodeCSV(&b, nil); err != nil || b.String() != "\n" {
		t.Errorf("empty CSV %q %v", b.String(), err)
	}
}
