// Package eval measures frozen representations: the kNN monitor and linear
// probe used to score self-supervised encoders, the collapse metrics that
// show whether BYOL's asymmetry is working (per-dimension std of the
// normalised outputs, singular-value spectrum, effective rank), and a 2-D
// PCA whose axes stay put from one frame to the next for live plots.
//
// Everything here is plain numerics on feature matrices and knows nothing of
// the network code. A matrix is a flat row-major []float32 of N rows and D
// columns; N is len(x)/D, and a length that is not a multiple of D is an
// error. Labels are []int32 in [0, numClasses).
//
// Bad input never panics. Mismatched sizes, out-of-range labels and bad
// options return an error. Non-finite features (NaN, ±Inf) are an error for
// the classifiers, Spectrum and PCA, which cannot give a meaningful answer;
// the scalar monitors Std and MeanCosine instead return NaN, so a training
// run that diverged shows up as NaN on the plot rather than as a missing
// point.
package eval
