// SGEMM: C = alpha·op(A)·op(B) + beta·C, row-major, as Backend.Gemm defines
// it, with a strided batch and split-K folded into blockIdx.z.
//
// Every GEMM kernel takes the same arguments:
//
//   A, B, C        operands; op(A) is m×k, op(B) is k×n, C is m×n
//   lda, ldb, ldc  leading dimensions of A and B as stored, and of C
//   sA, sB, sC     strides between the batch's matrices (blockIdx.z)
//   cg, cgs        C's columns come in groups of cg, cgs apart: column j
//                  lands at (j/cg)·cgs + j%cg. A convolution's GEMM runs
//                  over the columns of all images at once and stores
//                  straight into NCHW this way; cg = 0 is a plain matrix.
//   kchunk, splits split-K: blockIdx.z = batch·splits + split, split s
//                  sums k in [s·kchunk, (s+1)·kchunk); C then points at a
//                  workspace (sC = m·n) that gemm_splitk_reduce folds.
//   flags          GEMM_VEC_A/B/C: the host checked that 16-byte vector
//                  access is aligned for that operand.
//
// Shared tiles are k-major (As[k][m], Bs[k][n]) whatever the operands'
// layout, so the inner loop reads both with float4 loads. An operand stored
// along k (A not transposed, B transposed) is written into the tile
// transposed, one float at a time.

#define GEMM_VEC_A 1
#define GEMM_VEC_B 2
#define GEMM_VEC_C 4

// Shared rows are padded: +4 floats keeps float4 alignment and moves the
// transposed stores of k and k+4 to different banks; the TF32 fragments
// (k = lane%4, m = lane/4) need +8 to hit 32 different banks.
#define GEMM_PAD 4
#define TF32_PAD 8

// A tile loader moves one BK-deep slice of an operand into a k-major
// shared tile of width BW (BM for A, BN for B), THREADS threads each
// filling N4 float4 slots. kmajor says whether the operand as stored has k
// along its rows (A transposed, B not): loads are then vectors along the
// tile's width and stores are float4 too; otherwise each slot holds four
// consecutive k of one row w, stored transposed.
//
// Because THREADS is a multiple of the slots per tile row, a thread's
// slots share one coordinate: kmajor slots share wi (rows ki[i] = ki[0] +
// i·KSTEP), the others share ki (columns wi[i] = wi[0] + i·WSTEP). The
// convolution loaders (conv.cuh) rely on it.
template <int BW, int BK, int THREADS, bool kmajor>
struct tile_slots {
    static constexpr int N4 = BW * BK / 4 / THREADS;  // float4 per thread
    static_assert(N4 * 4 * THREADS == BW * BK, "tile not a multiple of the block's float4 loads");
    static_assert(THREADS % (kmajor ? BW / 4 : BK / 4) == 0, "a thread's slots must share a coordinate");
    static constexpr int KSTEP = kmajor ? THREADS / (BW / 4) : 0;
    static constexpr int WSTEP = kmajor ? 0 : THREADS / (BK / 4);

    // init sets this thread's slots in the tile.
    __device__ __forceinline__ static void init(int (&wi)[N4], int (&ki)[N4]) {
#pragma unroll
        for (int i = 0; i < N4; i++) {
            int q = threadIdx.x + i * THREADS;
            if (kmajor) {
                ki[i] = q / (BW / 4);
                wi[i] = (q % (BW / 4)) * 4;
            } else {
                wi[i] = q / (BK / 4);
                ki[i] = (q % (BK / 4)) * 4;
            }
        }
    }

    // store writes the slice r into tile[BK][BW+pad], rounded through cvt
    // (identity for fp32, round-to-TF32 for the tensor-core kernel).
    template <int LDS, typename Cvt>
    __device__ __forceinline__ static void store(const float4 (&r)[N4], const int (&wi)[N4], const int (&ki)[N4],
                                                 float *tile, Cvt cvt) {
#pragma unroll
        for (int i = 0; i < N4; i++) {
            float4 v = make_float4(cvt(r[i].x), cvt(r[i].y), cvt(r[i].z), cvt(r[i].w));
            if (kmajor) {
                *reinterpret_cast<float4 *>(tile + ki[i] * LDS + wi[i]) = v;
            } else {
                tile[(ki[i] + 0) * LDS + wi[i]] = v.x;
                tile[(ki[i] + 1) * LDS + wi[i]] = v.y;
                tile[(ki[i] + 2) * LDS + wi[i]] = v.z;
                tile[(ki[i] + 3) * LDS + wi[i]] = v.w;
            }
        }
    }
};

// gemm_tile_loader loads slices of a matrix stored with leading dimension ld.
template <int BW, int BK, int THREADS, bool kmajor>
struct gemm_tile_loader {
    using slots = tile_slots<BW, BK, THREADS, kmajor>;
    static constexpr int N4 = slots::N4;

    const float *p;  // operand base (batch applied)
    int ld, wmax, kmax, w0;
    bool vec;
    int wi[N4], ki[N4];  // this thread's slots in the tile
    float4 r[N4];        // the slice in flight

    __device__ __forceinline__ void init(const float *base, int ld_, int w0_, int wmax_, int kend, bool vec_) {
        p = base;
        ld = ld_;
        w0 = w0_;
        wmax = wmax_;
        kmax = kend;
        vec = vec_;
        slots::init(wi, ki);
    }

    __device__ __forceinline__ float at(long long w, long long kk) const {
        return (w < wmax && kk < kmax) ? p[kmajor ? kk * ld + w : w * ld + kk] : 0.0f;
    }

    // load fetches the slice that starts at k = kt.
    __device__ __forceinline__ void load(int kt) {
#pragma unroll
        for (int i = 0; i < N4; i++) {
            int w = w0 + wi[i], kk = kt + ki[i];
            if (kmajor) {
                if (vec && kk < kmax && w + 3 < wmax) {
                    r[i] = *reinterpret_cast<const float4 *>(p + (long long)kk * ld + w);
                } else {
                    r[i] = make_float4(at(w, kk), at(w + 1, kk), at(w + 2, kk), at(w + 3, kk));
                }
            } else {
                if (vec && w < wmax && kk + 3 < kmax) {
                    r[i] = *reinterpret_cast<const float4 *>(p + (long long)w * ld + kk);
                } else {
                    r[i] = make_float4(at(w, kk), at(w, kk + 1), at(w, kk + 2), at(w, kk + 3));
                }
            }
        }
    }

    template <int LDS, typename Cvt>
    __device__ __forceinline__ void store(float *tile, Cvt cvt) const {
        slots::template store<LDS>(r, wi, ki, tile, cvt);
    }
};

struct gemm_identity {
    __device__ __forceinline__ float operator()(float x) const { return x; }
};

// gemm_store writes one element of the result, or four consecutive ones.
// beta = 0 never reads C (it may hold NaN).
__device__ __forceinline__ long long gemm_col(int j, int cg, long long cgs) {
    return cg == 0 ? j : (long long)(j / cg) * cgs + j % cg;
}

__device__ __forceinline__ void gemm_store1(float *C, long long off, float v, float alpha, float beta) {
    float o = alpha * v;
    if (beta != 0.0f) o += beta * C[off];
    C[off] = o;
}

// gemm_store4 writes four consecutive columns of one row; off[j] is
// column j's offset within the row (column groups applied).
__device__ __forceinline__ void gemm_store4(float *C, long long rbase, const long long off[4], int ncols,
                                            const float v[4], float alpha, float beta, bool vec) {
    if (vec && ncols >= 4) {
        // Four columns starting at a multiple of 4 stay in one group (the
        // host checks cg % 4 == 0), so off[0] covers all four.
        float4 *p = reinterpret_cast<float4 *>(C + rbase + off[0]);
        float4 o = make_float4(alpha * v[0], alpha * v[1], alpha * v[2], alpha * v[3]);
        if (beta != 0.0f) {
            float4 c = *p;
            o.x += beta * c.x;
            o.y += beta * c.y;
            o.z += beta * c.z;
            o.w += beta * c.w;
        }
        *p = o;
        return;
    }
#pragma unroll
    for (int j = 0; j < 4; j++) {
        if (j < ncols) gemm_store1(C, rbase + off[j], v[j], alpha, beta);
    }
}

// gemm_out is where a block's result goes: C (batch and split applied)
// with its leading dimension and column groups, and the scaling.
struct gemm_out {
    float *C;
    int m, n, ldc, cg;
    long long cgs;
    float alpha, beta;
    bool vec;  // GEMM_VEC_C: float4 stores are aligned
};

// simt_tile is the fp32 kernel: a BM×BN block tile, BK = 8, each thread a
// TM×TN register tile made of 4×4 quadrants spread BM/2 (BN/2) apart so
// that a warp's float4 shared reads are contiguous. Global loads for the
// next slice are issued before computing on the current one (double
// buffering through registers, one barrier per slice). run takes the two
// operands' tile loaders, so the same loop serves stored matrices
// (gemm_tile_loader) and the convolutions' implicit ones (conv.cuh).
template <int BM_, int BN_, int TM, int TN>
struct simt_tile {
    static constexpr int BM = BM_, BN = BN_, BK = 8;
    static constexpr int TX = BN / TN, TY = BM / TM, THREADS = TX * TY;
    static constexpr int GM = TM / 4, GN = TN / 4;  // 4×4 quadrants per thread
    static constexpr int LDA = BM + GEMM_PAD, LDB = BN + GEMM_PAD;
    template <bool kmajor> using loader_a = gemm_tile_loader<BM, BK, THREADS, kmajor>;
    template <bool kmajor> using loader_b = gemm_tile_loader<BN, BK, THREADS, kmajor>;

    // run sums k in [kbeg, kend) of the block's BM×BN tile at (m0, n0).
    template <class LA, class LB>
    __device__ __forceinline__ static void run(LA &la, LB &lb, int kbeg, int kend, int m0, int n0, const gemm_out &o) {
        __shared__ __align__(16) float As[2][BK * LDA];
        __shared__ __align__(16) float Bs[2][BK * LDB];
        const int tx = threadIdx.x % TX, ty = threadIdx.x / TX;

        float acc[TM][TN];
#pragma unroll
        for (int i = 0; i < TM; i++)
#pragma unroll
            for (int j = 0; j < TN; j++) acc[i][j] = 0.0f;

        const gemm_identity id;
        la.load(kbeg);
        lb.load(kbeg);
        la.template store<LDA>(As[0], id);
        lb.template store<LDB>(Bs[0], id);
        __syncthreads();

        int buf = 0;
        for (int kt = kbeg; kt < kend; kt += BK) {
            const bool more = kt + BK < kend;
            if (more) {
                la.load(kt + BK);
                lb.load(kt + BK);
            }
            const float *as = As[buf], *bs = Bs[buf];
#pragma unroll
            for (int kk = 0; kk < BK; kk++) {
                float a[TM], b[TN];
#pragma unroll
                for (int g = 0; g < GM; g++) {
                    float4 v = *reinterpret_cast<const float4 *>(as + kk * LDA + g * (BM / GM) + ty * 4);
                    a[g * 4 + 0] = v.x;
                    a[g * 4 + 1] = v.y;
                    a[g * 4 + 2] = v.z;
                    a[g * 4 + 3] = v.w;
                }
#pragma unroll
                for (int g = 0; g < GN; g++) {
                    float4 v = *reinterpret_cast<const float4 *>(bs + kk * LDB + g * (BN / GN) + tx * 4);
                    b[g * 4 + 0] = v.x;
                    b[g * 4 + 1] = v.y;
                    b[g * 4 + 2] = v.z;
                    b[g * 4 + 3] = v.w;
                }
#pragma unroll
                for (int i = 0; i < TM; i++)
#pragma unroll
                    for (int j = 0; j < TN; j++) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
            }
            if (more) {
                la.template store<LDA>(As[buf ^ 1], id);
                lb.template store<LDB>(Bs[buf ^ 1], id);
            }
            __syncthreads();
            buf ^= 1;
        }

        // Column offsets once per thread: the group split costs a division.
        long long off[GN][4];
        int ncols[GN];
#pragma unroll
        for (int g = 0; g < GN; g++) {
            const int col = n0 + g * (BN / GN) + tx * 4;
            ncols[g] = o.n - col;
#pragma unroll
            for (int j = 0; j < 4; j++) off[g][j] = col + j < o.n ? gemm_col(col + j, o.cg, o.cgs) : 0;
        }
#pragma unroll
        for (int i = 0; i < TM; i++) {
            const int row = m0 + (i / 4) * (BM / GM) + ty * 4 + i % 4;
            if (row >= o.m) continue;
#pragma unroll
            for (int g = 0; g < GN; g++)
                gemm_store4(o.C, (long long)row * o.ldc, off[g], ncols[g], &acc[i][g * 4], o.alpha, o.beta, o.vec);
        }
    }
};

// TF32 tensor cores. tf32_round rounds to TF32's 10-bit mantissa, to
// nearest with ties away from zero (what cvt.rna.tf32.f32 does), so that
// the tensor cores' truncation of the low bits never comes into play.
struct tf32_round {
    __device__ __forceinline__ float operator()(float x) const {
        return __uint_as_float((__float_as_uint(x) + 0x1000u) & 0xffffe000u);
    }
};

// mma_tf32 is D += A·B for one m16n8k8 TF32 tile: A row-major 16×8, B
// column-major 8×8, fragments as PTX's mma.m16n8k8 .tf32 defines them
// (g = lane/4, t = lane%4): a = A[g][t], A[g+8][t], A[g][t+4], A[g+8][t+4];
// b = B[t][g], B[t+4][g]; d = D[g][2t], D[g][2t+1], D[g+8][2t], D[g+8][2t+1].
__device__ __forceinline__ void mma_tf32(float d[4], const float a[4], const float b[2]) {
#ifndef BYOL_EMU
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(__float_as_uint(a[0])), "r"(__float_as_uint(a[1])), "r"(__float_as_uint(a[2])),
          "r"(__float_as_uint(a[3])), "r"(__float_as_uint(b[0])), "r"(__float_as_uint(b[1])));
#else
    // The emulator has no tensor cores: gather the same fragments from the
    // warp's lanes with shuffles, so the fragment layout is still tested.
    const int lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
    for (int kk = 0; kk < 8; kk++) {
        const int src = kk % 4;
        float alo = __shfl_sync(0xffffffffu, kk < 4 ? a[0] : a[2], 4 * g + src);
        float ahi = __shfl_sync(0xffffffffu, kk < 4 ? a[1] : a[3], 4 * g + src);
        float b0 = __shfl_sync(0xffffffffu, kk < 4 ? b[0] : b[1], 4 * (2 * t) + src);
        float b1 = __shfl_sync(0xffffffffu, kk < 4 ? b[0] : b[1], 4 * (2 * t + 1) + src);
        d[0] = fmaf(alo, b0, d[0]);
        d[1] = fmaf(alo, b1, d[1]);
        d[2] = fmaf(ahi, b0, d[2]);
        d[3] = fmaf(ahi, b1, d[3]);
    }
#endif
}

// tf32_tile runs the same tiling with mma.sync: a BM×BN block tile, BK =
// 16, WM×WN warps each owning a (BM/WM)×(BN/WN) warp tile of m16n8 pieces.
// Operands are rounded to TF32 on their way into shared memory, once per
// element; accumulation stays fp32.
template <int BM_, int BN_, int WM, int WN>
struct tf32_tile {
    static constexpr int BM = BM_, BN = BN_, BK = 16, THREADS = WM * WN * 32;
    static constexpr int MI = BM / WM / 16, NI = BN / WN / 8;
    static constexpr int LDA = BM + TF32_PAD, LDB = BN + TF32_PAD;
    template <bool kmajor> using loader_a = gemm_tile_loader<BM, BK, THREADS, kmajor>;
    template <bool kmajor> using loader_b = gemm_tile_loader<BN, BK, THREADS, kmajor>;

    template <class LA, class LB>
    __device__ __forceinline__ static void run(LA &la, LB &lb, int kbeg, int kend, int m0, int n0, const gemm_out &o) {
        __shared__ __align__(16) float As[2][BK * LDA];
        __shared__ __align__(16) float Bs[2][BK * LDB];
        const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
        const int wm0 = (warp / WN) * (BM / WM), wn0 = (warp % WN) * (BN / WN);

        float acc[MI][NI][4];
#pragma unroll
        for (int i = 0; i < MI; i++)
#pragma unroll
            for (int j = 0; j < NI; j++)
#pragma unroll
                for (int q = 0; q < 4; q++) acc[i][j][q] = 0.0f;

        const tf32_round cvt;
        la.load(kbeg);
        lb.load(kbeg);
        la.template store<LDA>(As[0], cvt);
        lb.template store<LDB>(Bs[0], cvt);
        __syncthreads();

        int buf = 0;
        for (int kt = kbeg; kt < kend; kt += BK) {
            const bool more = kt + BK < kend;
            if (more) {
                la.load(kt + BK);
                lb.load(kt + BK);
            }
            const float *as = As[buf], *bs = Bs[buf];
#pragma unroll
            for (int kb = 0; kb < BK; kb += 8) {
                float a[MI][4], b[NI][2];
#pragma unroll
                for (int i = 0; i < MI; i++) {
                    const float *p = as + (kb + t) * LDA + wm0 + i * 16 + g;
                    a[i][0] = p[0];
                    a[i][1] = p[8];
                    a[i][2] = p[4 * LDA];
                    a[i][3] = p[4 * LDA + 8];
                }
#pragma unroll
                for (int j = 0; j < NI; j++) {
                    const float *p = bs + (kb + t) * LDB + wn0 + j * 8 + g;
                    b[j][0] = p[0];
                    b[j][1] = p[4 * LDB];
                }
#pragma unroll
                for (int i = 0; i < MI; i++)
#pragma unroll
                    for (int j = 0; j < NI; j++) mma_tf32(acc[i][j], a[i], b[j]);
            }
            if (more) {
                la.template store<LDA>(As[buf ^ 1], cvt);
                lb.template store<LDB>(Bs[buf ^ 1], cvt);
            }
            __syncthreads();
            buf ^= 1;
        }

        long long off[NI][2];
#pragma unroll
        for (int j = 0; j < NI; j++) {
            const int col = n0 + wn0 + j * 8 + 2 * t;
            off[j][0] = col < o.n ? gemm_col(col, o.cg, o.cgs) : -1;
            off[j][1] = col + 1 < o.n ? gemm_col(col + 1, o.cg, o.cgs) : -1;
        }
#pragma unroll
        for (int i = 0; i < MI; i++) {
#pragma unroll
            for (int h = 0; h < 2; h++) {
                const int row = m0 + wm0 + i * 16 + g + 8 * h;
                if (row >= o.m) continue;
                const long long rbase = (long long)row * o.ldc;
#pragma unroll
                for (int j = 0; j < NI; j++) {
                    if (off[j][0] >= 0) gemm_store1(o.C, rbase + off[j][0], acc[i][j][2 * h], o.alpha, o.beta);
                    if (off[j][1] >= 0) gemm_store1(o.C, rbase + off[j][1], acc[i][j][2 * h + 1], o.alpha, o.beta);
                }
            }
        }
    }
};

// The block tiles the Go side chooses from (core/backend/cuda/gemm.go).
using tile_128x128 = simt_tile<128, 128, 8, 8>;          // large products
using tile_64x64 = simt_tile<64, 64, 8, 8>;              // more blocks for mid-sized outputs
using tile_32x128 = simt_tile<32, 128, 8, 8>;            // few rows (Cout 16/32), many columns
using tile_tf32_128x128 = tf32_tile<128, 128, 2, 4>;     // 8 warps of 64×32
using tile_tf32_64x64 = tf32_tile<64, 64, 2, 2>;         // 4 warps of 32×32

// gemm_split is a block's place in the z dimension: blockIdx.z = batch·splits
// + split, split s summing k in [s·kchunk, (s+1)·kchunk).
struct gemm_split {
    int batch, z, kbeg, kend;
    __device__ __forceinline__ gemm_split(int k, int kchunk, int splits) {
        z = blockIdx.z;
        batch = z / splits;
        kbeg = (z % splits) * kchunk;
        kend = min(k, kbeg + kchunk);
    }
};

// gemm_body is the strided-batch GEMM of stored matrices on tile T.
template <class T, bool TA, bool TB>
__device__ __forceinline__ void gemm_body(const float *__restrict__ A, const float *__restrict__ B,
                                          float *__restrict__ C, int m, int n, int k, int lda, int ldb, int ldc,
                                          long long sA, long long sB, long long sC, int cg, long long cgs, float alpha,
                                          float beta, int kchunk, int splits, int flags) {
    const gemm_split s(k, kchunk, splits);
    const int m0 = blockIdx.y * T::BM, n0 = blockIdx.x * T::BN;
    const gemm_out o{C + s.z * sC, m, n, ldc, cg, cgs, alpha, beta, (flags & GEMM_VEC_C) != 0};
    typename T::template loader_a<TA> la;
    typename T::template loader_b<!TB> lb;
    la.init(A + s.batch * sA, lda, m0, m, s.kend, flags & GEMM_VEC_A);
    lb.init(B + s.batch * sB, ldb, n0, n, s.kend, flags & GEMM_VEC_B);
    T::run(la, lb, s.kbeg, s.kend, m0, n0, o);
}

#define GEMM_PARAMS                                                                                                 \
    const float *__restrict__ A, const float *__restrict__ B, float *__restrict__ C, int m, int n, int k, int lda, \
        int ldb, int ldc, long long sA, long long sB, long long sC, int cg, long long cgs, float alpha, float beta, \
        int kchunk, int splits, int flags
#define GEMM_ARGS A, B, C, m, n, k, lda, ldb, ldc, sA, sB, sC, cg, cgs, alpha, beta, kchunk, splits, flags

// One extern "C" entry per tile shape and transpose combination (nn, nt,
// tn, tt: A then B), so the Go side finds each by name. MINB blocks per SM
// caps registers (128 for two 256-thread blocks) so that they fit at once.
#define GEMM_ENTRY(name, suffix, T, MINB, TA, TB)                                                  \
    extern "C" __global__ void __launch_bounds__(T::THREADS, MINB) name##suffix(GEMM_PARAMS) { \
        gemm_body<T, TA, TB>(GEMM_ARGS);                                                       \
    }
#define GEMM_ENTRIES(name, T, MINB)               \
    GEMM_ENTRY(name, _nn, T, MINB, false, false) \
    GEMM_ENTRY(name, _nt, T, MINB, false, true)  \
    GEMM_ENTRY(name, _tn, T, MINB, true, false)  \
    GEMM_ENTRY(name, _tt, T, MINB, true, true)

GEMM_ENTRIES(sgemm_128x128, tile_128x128, 2)
GEMM_ENTRIES(sgemm_64x64, tile_64x64, 6)
GEMM_ENTRIES(sgemm_32x128, tile_32x128, 6)
GEMM_ENTRIES(sgemm_tf32_128x128, tile_tf32_128x128, 2)
GEMM_ENTRIES(sgemm_tf32_64x64, tile_tf32_64x64, 4)

// gemm_splitk_reduce folds split-K partials in a fixed order (split 0
// first), so results do not depend on scheduling: for each of batch m×n
// results, C = alpha·Σ_s W[b·splits+s] + beta·C, C addressed like the GEMM's.
extern "C" __global__ void gemm_splitk_reduce(const float *__restrict__ W, float *__restrict__ C, int m, int n,
                                              int ldc, long long sC, int cg, long long cgs, int splits, int batch,
                                              float alpha, float beta) {
    const long long mn = (long long)m * n;
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= mn * batch) return;
    const long long b = e / mn, rc = e % mn;
    const int row = (int)(rc / n), col = (int)(rc % n);
    const float *w = W + b * splits * mn + rc;
    float s = 0.0f;
    for (int i = 0; i < splits; i++) s += w[i * mn];
    gemm_store1(C + b * sC, (long long)row * ldc + gemm_col(col, cg, cgs), s, alpha, beta);
}
