// Dev harness (temporary): checks every GEMM kernel against cuBLAS and
// times them. nvcc -O3 -std=c++17 -arch=sm_90 gemm_devbench.cu -lcublas
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>
#include "gemm.cuh"
#include "conv.cuh"

#define CK(x) do { cudaError_t e = (x); if (e != cudaSuccess) { printf("CUDA %s at %d: %s\n", #x, __LINE__, cudaGetErrorString(e)); exit(1); } } while (0)

typedef void (*kfn)(const float *, const float *, float *, int, int, int, int, int, int, long long, long long, long long, int,
                    long long, float, float, int, int, int);
struct Tile { const char *name; int bm, bn, threads, perSM; kfn k[4]; };
Tile tiles[] = {
    {"s128", 128, 128, 256, 2, {sgemm_128x128_nn, sgemm_128x128_nt, sgemm_128x128_tn, sgemm_128x128_tt}},
    {"s64", 64, 64, 64, 8, {sgemm_64x64_nn, sgemm_64x64_nt, sgemm_64x64_tn, sgemm_64x64_tt}},
    {"s32", 32, 128, 64, 8, {sgemm_32x128_nn, sgemm_32x128_nt, sgemm_32x128_tn, sgemm_32x128_tt}},
    {"t128", 128, 128, 256, 2, {sgemm_tf32_128x128_nn, sgemm_tf32_128x128_nt, sgemm_tf32_128x128_tn, sgemm_tf32_128x128_tt}},
    {"t64", 64, 64, 128, 4, {sgemm_tf32_64x64_nn, sgemm_tf32_64x64_nt, sgemm_tf32_64x64_tn, sgemm_tf32_64x64_tt}},
};
static int cdiv(int a, int b) { return (a + b - 1) / b; }
float *work;
// Mirrors gemmSplits in gemm.go; force > 0 overrides.
static void run(Tile &t, bool ta, bool tb, int m, int n, int k, const float *A, const float *B, float *C, float alpha, float beta, int force = 0) {
    int blocks = cdiv(m, t.bm) * cdiv(n, t.bn);
    int want = cdiv(132 * t.perSM, blocks);
    int splits = std::max(1, std::min(std::min(want, k / 256), 64));
    if (force) splits = force;
    int kchunk = std::max(k, 1);
    if (splits > 1) { kchunk = cdiv(cdiv(k, splits), 16) * 16; splits = cdiv(k, kchunk); }
    int lda = ta ? m : k, ldb = tb ? k : n, tr = (ta ? 2 : 0) | (tb ? 1 : 0);
    int flags = (lda % 4 == 0 ? 1 : 0) | (ldb % 4 == 0 ? 2 : 0);
    dim3 grid(cdiv(n, t.bn), cdiv(m, t.bm), splits);
    if (splits == 1) {
        t.k[tr]<<<grid, t.threads>>>(A, B, C, m, n, k, lda, ldb, n, 0, 0, 0, 0, 0, alpha, beta, kchunk, 1, flags | (n % 4 == 0 ? 4 : 0));
    } else {
        t.k[tr]<<<grid, t.threads>>>(A, B, work, m, n, k, lda, ldb, n, 0, 0, (long long)m * n, 0, 0, 1.f, 0.f, kchunk, splits, flags | (n % 4 == 0 ? 4 : 0));
        long long tot = (long long)m * n;
        gemm_splitk_reduce<<<(unsigned)((tot + 255) / 256), 256>>>(work, C, m, n, n, 0, 0, 0, splits, 1, alpha, beta);
    }
}
cublasHandle_t h;
static void ref(bool ta, bool tb, int m, int n, int k, const float *A, const float *B, float *C, float alpha, float beta) {
    int lda = ta ? m : k, ldb = tb ? k : n;
    cublasSgemm(h, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, B, ldb, A, lda, &beta, C, n);
}
static std::mt19937 rng(1);
static float *randbuf(size_t n) {
    std::vector<float> h(n);
    std::normal_distribution<float> d;
    for (auto &v : h) v = d(rng);
    float *p;
    CK(cudaMalloc(&p, n * 4));
    CK(cudaMemcpy(p, h.data(), n * 4, cudaMemcpyHostToDevice));
    return p;
}
static double cmp(const float *a, const float *b, size_t n) {
    std::vector<float> x(n), y(n);
    CK(cudaMemcpy(x.data(), a, n * 4, cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(y.data(), b, n * 4, cudaMemcpyDeviceToHost));
    double mr = 0, md = 0;
    for (size_t i = 0; i < n; i++) {
        if (std::isnan(x[i]) != std::isnan(y[i])) return 1e30;
        mr = std::max(mr, (double)fabs(y[i]));
        md = std::max(md, (double)fabs(x[i] - y[i]));
    }
    return md / std::max(1.0, mr);
}
template <typename F> static double timeit(F f, double flop) {
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    f();
    CK(cudaDeviceSynchronize());
    float best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        int it = 5;
        cudaEventRecord(a);
        for (int i = 0; i < it; i++) f();
        cudaEventRecord(b);
        cudaEventSynchronize(b);
        float ms;
        cudaEventElapsedTime(&ms, a, b);
        best = std::min(best, ms / it);
    }
    CK(cudaGetLastError());
    return flop / (best * 1e-3) / 1e9;
}
int main() {
    cublasCreate(&h);
    CK(cudaMalloc(&work, 256 << 20));
    int ok = 1;
    // Correctness: every tile and transpose, odd edges, beta, forced split-K.
    {
        int m = 517, n = 389, k = 263;
        float *A = randbuf((size_t)m * k), *B = randbuf((size_t)k * n), *C0 = randbuf((size_t)m * n), *C = randbuf((size_t)m * n), *R = randbuf((size_t)m * n);
        for (auto &t : tiles)
            for (int tr = 0; tr < 4; tr++)
                for (int sp : {0, 5})
                    for (float beta : {0.f, 0.5f}) {
                        bool ta = tr & 2, tb = tr & 1;
                        CK(cudaMemcpy(C, C0, (size_t)m * n * 4, cudaMemcpyDeviceToDevice));
                        CK(cudaMemcpy(R, C0, (size_t)m * n * 4, cudaMemcpyDeviceToDevice));
                        if (beta == 0) CK(cudaMemset(C, 0xff, (size_t)m * n * 4));  // NaN poison
                        run(t, ta, tb, m, n, k, A, B, C, 1.5f, beta, sp);
                        ref(ta, tb, m, n, k, A, B, R, 1.5f, beta);
                        CK(cudaDeviceSynchronize());
                        double e = cmp(C, R, (size_t)m * n);
                        bool tf = t.name[0] == 't';
                        bool pass = e < (tf ? 5e-3 : 1e-4);
                        ok &= pass;
                        if (!pass || (tr == 0 && sp == 0 && beta == 0)) printf("check %-5s %c%c split=%d beta=%.1f relerr %.2e %s\n", t.name, ta ? 't' : 'n', tb ? 't' : 'n', sp, beta, e, pass ? "ok" : "FAIL");
                    }
    }
    printf("correctness: %s\n", ok ? "all ok" : "FAILURES");
    struct S { const char *what; bool ta, tb; int m, n, k; };
    S shapes[] = {
        {"4096^3 nn", 0, 0, 4096, 4096, 4096},
        {"4096^3 nt", 0, 1, 4096, 4096, 4096},
        {"4096^3 tn", 1, 0, 4096, 4096, 4096},
        {"small c0 fwd B256", 0, 0, 32, 262144, 27},
        {"small c1 fwd B256", 0, 0, 64, 65536, 288},
        {"small c2 fwd B256", 0, 0, 128, 16384, 576},
        {"small c2 bwdD B256", 1, 0, 576, 16384, 128},
        {"small c2 bwdF B256", 0, 1, 128, 576, 16384},
        {"small c1 bwdF B256", 0, 1, 64, 288, 65536},
        {"r18 64ch fwd B256", 0, 0, 64, 262144, 576},
        {"r18 64ch bwdD B256", 1, 0, 576, 262144, 64},
        {"r18 64ch bwdF B256", 0, 1, 64, 576, 262144},
        {"r18 512ch fwd B256", 0, 0, 512, 4096, 4608},
        {"r18 512ch bwdF B256", 0, 1, 512, 4608, 4096},
        {"head 512x512x512", 0, 1, 512, 512, 512},
        {"head 512x4096x512", 0, 1, 512, 4096, 512},
    };
    printf("%-22s %9s %9s | %7s %7s %7s | %9s %7s %7s\n", "shape", "cublas32", "cublasTF", "s128", "s64", "s32", "ours/cb32", "t128", "t64");
    for (auto &s : shapes) {
        size_t na = (size_t)s.m * s.k, nb = (size_t)s.k * s.n, nc = (size_t)s.m * s.n;
        float *A = randbuf(na), *B = randbuf(nb), *C = randbuf(nc);
        double flop = 2.0 * s.m * s.n * s.k;
        cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
        double cb = timeit([&] { ref(s.ta, s.tb, s.m, s.n, s.k, A, B, C, 1, 0); }, flop);
        cublasSetMathMode(h, CUBLAS_TF32_TENSOR_OP_MATH);
        double cbt = timeit([&] { ref(s.ta, s.tb, s.m, s.n, s.k, A, B, C, 1, 0); }, flop);
        cublasSetMathMode(h, CUBLAS_DEFAULT_MATH);
        double g[5];
        for (int i = 0; i < 5; i++) g[i] = timeit([&] { run(tiles[i], s.ta, s.tb, s.m, s.n, s.k, A, B, C, 1, 0); }, flop);
        // What gemm.go would pick (fp32).
        int blocks128 = cdiv(s.m, 128) * cdiv(s.n, 128);
        double pick = s.m <= 32 ? g[2] : (blocks128 >= 264 ? g[0] : g[1]);
        printf("%-22s %9.0f %9.0f | %7.0f %7.0f %7.0f | %9.2f %7.0f %7.0f\n", s.what, cb, cbt, g[0], g[1], g[2], pick / cb, g[3], g[4]);
        cudaFree(A); cudaFree(B); cudaFree(C);
    }
    return ok ? 0 : 1;
}
