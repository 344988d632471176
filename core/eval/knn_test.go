package eval

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
)

// knnRef is an independent float64 brute-force kNN. Besides the prediction
// it returns how safe that prediction is from rounding: the gap between the
// k-th and (k+1)-th similarity and the relative gap between the two best
// class scores.
func knnRef(bank []float32, bankY []int32, query []float32, d, numClasses, k int, temp float64) (pred []int32, kGap, scoreGap []float64) {
	b := normalised64(bank, d)
	q := normalised64(query, d)
	nb, nq := len(bank)/d, len(query)/d
	k = min(k, nb)
	type nbr struct {
		sim float64
		i   int
	}
	for qi := range nq {
		all := make([]nbr, nb)
		for bi := range nb {
			var s float64
			for l := range d {
				s += q[qi*d+l] * b[bi*d+l]
			}
			all[bi] = nbr{s, bi}
		}
		slices.SortStableFunc(all, func(a, b nbr) int {
			switch {
			case a.sim > b.sim:
				return -1
			case a.sim < b.sim:
				return 1
			}
			return 0
		})
		gap := math.Inf(1)
		if k < nb {
			gap = all[k-1].sim - all[k].sim
		}
		scores := make([]float64, numClasses)
		for _, n := range all[:k] {
			scores[bankY[n.i]] += math.Exp(n.sim / temp)
		}
		arg := 0
		for c, s := range scores {
			if s > scores[arg] {
				arg = c
			}
		}
		second := 0.0
		for c, s := range scores {
			if c != arg && s > second {
				second = s
			}
		}
		pred = append(pred, int32(arg))
		kGap = append(kGap, gap)
		scoreGap = append(scoreGap, (scores[arg]-second)/scores[arg])
	}
	return pred, kGap, scoreGap
}

func TestKNNMatchesReference(t *testing.T) {
	for _, tc := range []struct{ nb, nq, d, classes, k int }{
		{1, 1, 1, 1, 20},
		{15, 7, 3, 2, 5},
		{17, 49, 8, 3, 20},
		{300, 97, 64, 10, 20},
		{1000, 300, 33, 10, 20},
		{513, 61, 130, 5, 200},
		{257, 50, 16, 4, 1},
	} {
		t.Run(fmt.Sprintf("nb%d_nq%d_d%d_k%d", tc.nb, tc.nq, tc.d, tc.k), func(t *testing.T) {
			r := newRand(uint64(tc.nb*7 + tc.d))
			x, y := clustered(r, tc.nb+tc.nq, tc.d, tc.classes, 1.5)
			bank, bankY := x[:tc.nb*tc.d], y[:tc.nb]
			query, queryY := x[tc.nb*tc.d:], y[tc.nb:]
			for _, threads := range []int{1, 3} {
				pred, err := KNNClassify(bank, bankY, query, tc.d, tc.classes, KNNOptions{K: tc.k, Threads: threads})
				if err != nil {
					t.Fatal(err)
				}
				ref, kGap, sGap := knnRef(bank, bankY, query, tc.d, tc.classes, tc.k, DefaultKNNTemp)
				for i := range pred {
					// float32 similarities may reorder neighbours closer
					// than ~1e-6; anything else must agree exactly.
					if pred[i] != ref[i] && kGap[i] > 1e-5 && sGap[i] > 1e-4 {
						t.Errorf("threads %d query %d: predicted %d, reference %d (k-gap %g, score gap %g)",
							threads, i, pred[i], ref[i], kGap[i], sGap[i])
					}
				}
				acc, err := KNN(bank, bankY, query, queryY, tc.d, tc.classes, tc.k, DefaultKNNTemp)
				if err != nil {
					t.Fatal(err)
				}
				refRep, _ := Score(ref, queryY, tc.classes)
				if acc != refRep.Accuracy {
					t.Errorf("accuracy %v, reference %v", acc, refRep.Accuracy)
				}
			}
		})
	}
}

func TestKNNTwoClusters(t *testing.T) {
	// Class 0 points along +x, class 1 along +y; queries near each axis.
	bank := []float32{1, 0.1, 2, -0.1, 3, 0, 0.1, 1, -0.1, 2, 0, 5}
	bankY := []int32{0, 0, 0, 1, 1, 1}
	query := []float32{1, 0.05, 0.2, 3, 10, -1}
	queryY := []int32{0, 1, 0}
	for _, k := range []int{1, 3, 6, 100} { // 100 > bank: all six vote
		pred, err := KNNClassify(bank, bankY, query, 2, 2, KNNOptions{K: k})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(pred, queryY) {
			t.Errorf("k=%d: got %v, want %v", k, pred, queryY)
		}
	}
	// A query exactly between one item of each class: equal votes, and the
	// lower class wins the tie.
	pred, err := KNNClassify([]float32{0, 1, 1, 0}, []int32{1, 0}, []float32{1, 1}, 2, 2, KNNOptions{K: 2})
	if err != nil {
		t.Fatal(err)
	}
	if pred[0] != 0 {
		t.Errorf("tied votes: got %d, want 0", pred[0])
	}
	// A tiny temperature must not overflow: the nearest item decides.
	pred, err = KNNClassify(bank, bankY, query, 2, 2, KNNOptions{K: 6, Temp: 1e-6})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pred, queryY) {
		t.Errorf("tiny temperature: got %v, want %v", pred, queryY)
	}
}

func TestKNNTiesKeepEarlierRow(t *testing.T) {
	// Three identical bank rows; k=1 must pick the first one's label.
	bank := []float32{1, 1, 1, 1, 1, 1, -1, 0}
	bankY := []int32{2, 0, 1, 0}
	pred, err := KNNClassify(bank, bankY, []float32{2, 2}, 2, 3, KNNOptions{K: 1})
	if err != nil {
		t.Fatal(err)
	}
	if pred[0] != 2 {
		t.Errorf("got %d, want 2 (first of the tied rows)", pred[0])
	}
}

func TestKNNZeroRowsAndEmptyQueries(t *testing.T) {
	bank := []float32{0, 0, 1, 0}
	bankY := []int32{1, 0}
	pred, err := KNNClassify(bank, bankY, []float32{0, 0, 3, 1}, 2, 2, KNNOptions{K: 1})
	if err != nil {
		t.Fatal(err)
	}
	// A zero query is equally (0) similar to both; the first row wins.
	if !slices.Equal(pred, []int32{1, 0}) {
		t.Errorf("got %v, want [1 0]", pred)
	}
	pred, err = KNNClassify(bank, bankY, nil, 2, 2, KNNOptions{})
	if err != nil || len(pred) != 0 {
		t.Errorf("empty queries: %v, %v", pred, err)
	}
}

func TestKNNErrors(t *testing.T) {
	bank := []float32{1, 0, 0, 1}
	bankY := []int32{0, 1}
	q := []float32{1, 1}
	qY := []int32{0}
	nan := float32(math.NaN())
	for name, call := range map[string]func() error{
		"d zero":        func() error { _, err := KNN(bank, bankY, q, qY, 0, 2, 20, 0.07); return err },
		"ragged bank":   func() error { _, err := KNN(bank[:3], bankY, q, qY, 2, 2, 20, 0.07); return err },
		"ragged query":  func() error { _, err := KNN(bank, bankY, q[:1], qY, 2, 2, 20, 0.07); return err },
		"bank labels":   func() error { _, err := KNN(bank, bankY[:1], q, qY, 2, 2, 20, 0.07); return err },
		"query labels":  func() error { _, err := KNN(bank, bankY, q, nil, 2, 2, 20, 0.07); return err },
		"label range":   func() error { _, err := KNN(bank, []int32{0, 2}, q, qY, 2, 2, 20, 0.07); return err },
		"negative":      func() error { _, err := KNN(bank, []int32{0, -1}, q, qY, 2, 2, 20, 0.07); return err },
		"no classes":    func() error { _, err := KNN(bank, bankY, q, qY, 2, 0, 20, 0.07); return err },
		"k zero":        func() error { _, err := KNN(bank, bankY, q, qY, 2, 2, 0, 0.07); return err },
		"temp zero":     func() error { _, err := KNN(bank, bankY, q, qY, 2, 2, 20, 0); return err },
		"temp NaN":      func() error { _, err := KNN(bank, bankY, q, qY, 2, 2, 20, math.NaN()); return err },
		"empty bank":    func() error { _, err := KNN(nil, nil, q, qY, 2, 2, 20, 0.07); return err },
		"empty queries": func() error { _, err := KNN(bank, bankY, nil, nil, 2, 2, 20, 0.07); return err },
		"opt K":         func() error { _, err := KNNClassify(bank, bankY, q, 2, 2, KNNOptions{K: -1}); return err },
		"opt Temp":      func() error { _, err := KNNClassify(bank, bankY, q, 2, 2, KNNOptions{Temp: -1}); return err },
	} {
		if call() == nil {
			t.Errorf("%s: no error", name)
		}
	}
	for name, call := range map[string]func() error{
		"NaN bank": func() error { _, err := KNN([]float32{1, nan, 0, 1}, bankY, q, qY, 2, 2, 20, 0.07); return err },
		"Inf query": func() error {
			_, err := KNN(bank, bankY, []float32{float32(math.Inf(1)), 0}, qY, 2, 2, 20, 0.07)
			return err
		},
	} {
		if err := call(); !errors.Is(err, ErrNonFinite) {
			t.Errorf("%s: err = %v, want ErrNonFinite", name, err)
		}
	}
}

func TestScore(t *testing.T) {
	r, err := Score([]int32{0, 1, 1, 2}, []int32{0, 1, 0, 0}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if r.Accuracy != 0.5 {
		t.Errorf("accuracy %v", r.Accuracy)
	}
	if r.PerClass[0] != 1.0/3 || r.PerClass[1] != 1 || !math.IsNaN(r.PerClass[2]) {
		t.Errorf("per class %v", r.PerClass)
	}
	want := []int{1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if !slices.Equal(r.Confusion, want) {
		t.Errorf("confusion %v, want %v", r.Confusion, want)
	}
}

func benchKNN(b *testing.B, n, d int) {
	r := newRand(1)
	x, y := clustered(r, 2*n, d, 10, 2)
	b.ResetTimer()
	for b.Loop() {
		if _, err := KNN(x[:n*d], y[:n], x[n*d:], y[n:], d, 10, DefaultKNNK, DefaultKNNTemp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKNN10k is the kNN monitor at CIFAR-10 size: a 10,000-item bank,
// 10,000 queries, 64 dimensions.
func BenchmarkKNN10k(b *testing.B) { benchKNN(b, 10000, 64) }

func BenchmarkKNN10kD512(b *testing.B) { benchKNN(b, 10000, 512) }

func BenchmarkKNN10kGoKernel(b *testing.B) {
	defer func(k func(int, []float32, []float32, []float32, int)) { microKernel = k }(microKernel)
	microKernel = microKernelGo
	benchKNN(b, 10000, 64)
}
