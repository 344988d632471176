package eval

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// Defaults of the kNN monitor (InstDisc, Wu et al. 2018, as run by
// solo-learn and lightly).
const (
	DefaultKNNK    = 20
	DefaultKNNTemp = 0.07
)

// Tile sizes of the similarity computation: a block of knnQueryBlock
// queries is compared with knnBankChunk bank items at a time, so that the
// similarity tile and the query block stay in cache while the bank streams
// past.
const (
	knnQueryBlock = 32 * microQ
	knnBankChunk  = 16 * panelW
)

// KNNOptions configures KNNClassify. A zero field takes its default.
type KNNOptions struct {
	// K is the number of neighbours that vote (default 20). A K larger
	// than the bank uses the whole bank.
	K int
	// Temp is the temperature T of the vote weights exp(sim/T) (default
	// 0.07). Small T approaches a plain majority of the nearest items;
	// large T gives the k neighbours equal votes.
	Temp float64
	// Threads bounds the goroutines used (default runtime.GOMAXPROCS(0)).
	Threads int
}

// KNN returns the top-1 accuracy on the labelled queries of the kNN
// classifier over the labelled bank: k neighbours by cosine similarity,
// votes weighted by exp(sim/temp). See KNNClassify.
func KNN(bank []float32, bankY []int32, query []float32, queryY []int32, d, numClasses, k int, temp float64) (acc float64, err error) {
	if k <= 0 {
		return 0, fmt.Errorf("eval: kNN k = %d, want > 0", k)
	}
	if !(temp > 0) || math.IsInf(temp, 1) {
		return 0, fmt.Errorf("eval: kNN temperature %v, want finite > 0", temp)
	}
	pred, err := KNNClassify(bank, bankY, query, d, numClasses, KNNOptions{K: k, Temp: temp})
	if err != nil {
		return 0, err
	}
	rep, err := Score(pred, queryY, numClasses)
	if err != nil {
		return 0, err
	}
	return rep.Accuracy, nil
}

// KNNClassify predicts a class for every query row from its nearest bank
// rows, as the kNN monitor of InstDisc-style self-supervised benchmarks does.
//
// Rows are ℓ2-normalised (a zero row stays zero, similar to nothing), the
// similarity is their dot product, and the K bank rows of highest similarity
// vote for their label with weight exp(sim/Temp). The prediction is the class
// with the largest summed weight. Ties are broken towards the lower index:
// among bank rows of equal similarity the earlier row is nearer, and among
// classes of equal weight the lower class wins. Queries are not excluded
// from the bank, so pass disjoint sets (train bank, test queries).
//
// Similarities are float32 (as in the reference implementations); votes are
// summed in float64 relative to the best neighbour, so no Temp overflows.
// Non-finite features are an error.
func KNNClassify(bank []float32, bankY []int32, query []float32, d, numClasses int, opt KNNOptions) ([]int32, error) {
	nb, err := rows("bank", bank, d)
	if err != nil {
		return nil, err
	}
	nq, err := rows("query", query, d)
	if err != nil {
		return nil, err
	}
	if numClasses <= 0 {
		return nil, fmt.Errorf("eval: numClasses = %d, want > 0", numClasses)
	}
	if nb == 0 {
		return nil, fmt.Errorf("eval: kNN bank is empty")
	}
	if nb > math.MaxInt32 {
		return nil, fmt.Errorf("eval: kNN bank of %d rows is too large", nb)
	}
	if err := checkLabels("bank labels", bankY, nb, numClasses); err != nil {
		return nil, err
	}
	k, temp, threads := opt.K, opt.Temp, opt.Threads
	switch {
	case k == 0:
		k = DefaultKNNK
	case k < 0:
		return nil, fmt.Errorf("eval: kNN K = %d, want > 0", k)
	}
	switch {
	case temp == 0:
		temp = DefaultKNNTemp
	case !(temp > 0) || math.IsInf(temp, 1):
		return nil, fmt.Errorf("eval: kNN temperature %v, want finite > 0", temp)
	}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	if err := checkFinite("bank", bank, d); err != nil {
		return nil, err
	}
	if err := checkFinite("query", query, d); err != nil {
		return nil, err
	}
	k = min(k, nb)
	pred := make([]int32, nq)
	if nq == 0 {
		return pred, nil
	}

	panels := packBank(bank, nb, d, threads)
	blocks := (nq + knnQueryBlock - 1) / knnQueryBlock
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(threads, blocks) {
		wg.Go(func() {
			w := newKNNWorker(d, k, numClasses)
			for {
				b := int(next.Add(1)) - 1
				if b >= blocks {
					return
				}
				lo := b * knnQueryBlock
				hi := min(lo+knnQueryBlock, nq)
				w.block(query[lo*d:hi*d], hi-lo, panels, nb, bankY, temp, pred[lo:hi])
			}
		})
	}
	wg.Wait()
	return pred, nil
}

// packBank normalises the bank rows and packs them into zero-padded panels,
// one range of panels per goroutine.
func packBank(bank []float32, nb, d, threads int) []float32 {
	np := (nb + panelW - 1) / panelW
	panels := make([]float32, np*d*panelW)
	per := (np + threads - 1) / threads
	var wg sync.WaitGroup
	for p0 := 0; p0 < np; p0 += per {
		lo, hi := p0*panelW, min((p0+per)*panelW, nb)
		wg.Go(func() {
			row := make([]float32, d)
			for i := lo; i < hi; i++ {
				normaliseInto(row, bank[i*d:i*d+d])
				packRow(panels, row, i, d)
			}
		})
	}
	wg.Wait()
	return panels
}

// knnWorker holds one goroutine's scratch space.
type knnWorker struct {
	d, k   int
	q      []float32 // normalised query block, padded to a multiple of microQ rows
	tile   []float32 // knnQueryBlock × knnBankChunk similarities
	sims   []float32 // per query: its k best similarities, descending
	idx    []int32   // per query: their bank rows
	count  []int     // per query: how many of the k slots are filled
	scores []float64 // class weights of one query
}

func newKNNWorker(d, k, numClasses int) *knnWorker {
	return &knnWorker{
		d: d, k: k,
		q:      make([]float32, knnQueryBlock*d),
		tile:   make([]float32, knnQueryBlock*knnBankChunk),
		sims:   make([]float32, knnQueryBlock*k),
		idx:    make([]int32, knnQueryBlock*k),
		count:  make([]int, knnQueryBlock),
		scores: make([]float64, numClasses),
	}
}

// block classifies the nq (≤ knnQueryBlock) query rows in query into pred.
func (w *knnWorker) block(query []float32, nq int, panels []float32, nb int, bankY []int32, temp float64, pred []int32) {
	d, k := w.d, w.k
	nqPad := (nq + microQ - 1) / microQ * microQ
	for i := 0; i < nq; i++ {
		normaliseInto(w.q[i*d:i*d+d], query[i*d:i*d+d])
	}
	clear(w.q[nq*d : nqPad*d])
	clear(w.count)

	ps := d * panelW
	for c0 := 0; c0 < nb; c0 += knnBankChunk {
		n := min(knnBankChunk, nb-c0)
		np := (n + panelW - 1) / panelW
		simTile(d, w.q, nqPad, panels[(c0/panelW)*ps:], np, w.tile, knnBankChunk)
		for i := 0; i < nq; i++ {
			w.update(i, w.tile[i*knnBankChunk:i*knnBankChunk+n], int32(c0))
		}
	}

	for i := 0; i < nq; i++ {
		sims := w.sims[i*k : i*k+k]
		idx := w.idx[i*k : i*k+k]
		clear(w.scores)
		best := float64(sims[0])
		for j := range k {
			w.scores[bankY[idx[j]]] += math.Exp((float64(sims[j]) - best) / temp)
		}
		arg := 0
		for c, s := range w.scores {
			if s > w.scores[arg] {
				arg = c
			}
		}
		pred[i] = int32(arg)
	}
}

// update merges one query's similarities to bank rows base, base+1, … into
// its top-k list. A newcomer must beat the k-th best strictly, so among
// equal similarities the earlier bank row stays.
func (w *knnWorker) update(i int, row []float32, base int32) {
	k := w.k
	sims := w.sims[i*k : i*k+k]
	idx := w.idx[i*k : i*k+k]
	n := w.count[i]
	thr := sims[k-1] // meaningful once the list is full
	for j := 0; j < len(row); j++ {
		if n == k {
			j += firstAbove(row[j:], thr)
			if j == len(row) {
				break
			}
		}
		s := row[j]
		// Insert after every kept entry with similarity ≥ s.
		pos := min(n, k-1)
		for pos > 0 && sims[pos-1] < s {
			pos--
		}
		last := min(n, k-1)
		copy(sims[pos+1:last+1], sims[pos:last])
		copy(idx[pos+1:last+1], idx[pos:last])
		sims[pos], idx[pos] = s, base+int32(j)
		if n < k {
			n++
		}
		thr = sims[k-1]
	}
	w.count[i] = n
}
