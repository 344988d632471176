// Convolution as im2col + GEMM, over a chunk of nb images at once: the
// column matrix is col[Cin·K·K][nb·Ho·Wo], row r = (ci·K + ky)·K + kx,
// column j = img·Ho·Wo + oy·Wo + ox, so one GEMM covers the whole chunk
// and its N dimension is large even where Ho·Wo is small.

// The im2col path's own kernels move data and do no arithmetic, so what
// they cost beyond the memory traffic is index arithmetic. A thread takes
// four consecutive pixels of one image row and one channel (blockIdx.y): it
// splits its index into (image, row, group) once — two integer divisions,
// which the GPU computes in software — for every value it moves, and with
// rows of a multiple of 4 moves them as float4 (vec, checked on the host:
// the 16-byte alignment of both sides). Consecutive threads take
// consecutive groups, so both sides are read and written in consecutive
// 16-byte pieces.

// conv_quad is a thread's four pixels: image img, row y, first column x0
// of a row of width w, n of them inside the row (the last group of a row
// whose width is no multiple of 4 has fewer). ok is false past the last.
struct conv_quad {
    int img, y, x0, n;
    bool ok;
    __device__ __forceinline__ conv_quad(int nb, int h, int w) {
        const int gw = (w + 3) / 4;
        const int e = blockIdx.x * blockDim.x + threadIdx.x;
        ok = e < nb * h * gw;
        const int t = e / gw;
        x0 = 4 * (e - t * gw);
        y = t % h;
        img = t / h;
        n = min(4, w - x0);
    }
};

// conv_put4 writes v[0..n) to dst, as one float4 where vec.
__device__ __forceinline__ void conv_put4(float *dst, const float (&v)[4], int n, bool vec) {
    if (vec) {
        *reinterpret_cast<float4 *>(dst) = make_float4(v[0], v[1], v[2], v[3]);
        return;
    }
#pragma unroll
    for (int i = 0; i < 4; i++)
        if (i < n) dst[i] = v[i];
}

// conv_im2col unfolds x (nb×Cin×H×W) into col[Cin·K·K][nb·Ho·Wo]: each
// thread writes its four output pixels' K² window values of channel ci.
// vec: Wo % 4 == 0 and col 16-byte aligned.
extern "C" __global__ void conv_im2col(const float *__restrict__ x, float *__restrict__ col, int nb, int cin, int h,
                                       int w, int k, int stride, int pad, int ho, int wo, int vec) {
    const conv_quad q(nb, ho, wo);
    if (!q.ok) return;
    const int ci = blockIdx.y;
    const long long cols = (long long)nb * ho * wo;
    const float *src = x + ((long long)q.img * cin + ci) * h * w;
    float *dst = col + (long long)ci * k * k * cols + (long long)q.img * ho * wo + q.y * wo + q.x0;
    for (int ky = 0; ky < k; ky++) {
        const int iy = q.y * stride - pad + ky;
        const bool row = iy >= 0 && iy < h;
        for (int kx = 0; kx < k; kx++, dst += cols) {
            float v[4];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                const int ix = (q.x0 + i) * stride - pad + kx;
                v[i] = row && ix >= 0 && ix < w ? src[iy * w + ix] : 0.0f;
            }
            conv_put4(dst, v, q.n, vec);
        }
    }
}

// conv_tap finds the output pixel o = t / stride that input offset t (an
// input coordinate plus pad minus the tap) was copied from, if t is a
// multiple of the stride and o < n. Strides 1 and 2 (every ResNet layer)
// take no division.
__device__ __forceinline__ bool conv_tap(int t, int stride, int n, int &o) {
    if (stride == 1) {
        o = t;
        return t >= 0 && t < n;
    }
    if (stride == 2) {
        o = t >> 1;
        return t >= 0 && (t & 1) == 0 && o < n;
    }
    o = t / stride;
    return t >= 0 && t % stride == 0 && o < n;
}

// conv_col2im is im2col's adjoint as a gather: each input pixel of channel
// ci sums the column entries it was copied to, in (ky, kx) order, so there
// are no atomics and the result does not depend on scheduling. vec: W % 4
// == 0 and x 16-byte aligned.
extern "C" __global__ void conv_col2im(const float *__restrict__ col, float *__restrict__ x, int nb, int cin, int h,
                                       int w, int k, int stride, int pad, int ho, int wo, int vec) {
    const conv_quad q(nb, h, w);
    if (!q.ok) return;
    const int ci = blockIdx.y;
    const long long cols = (long long)nb * ho * wo;
    const float *src = col + (long long)ci * k * k * cols + (long long)q.img * ho * wo;
    float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int ky = 0; ky < k; ky++) {
        int oy;
        if (!conv_tap(q.y + pad - ky, stride, ho, oy)) continue;
        const float *row = src + (long long)ky * k * cols + oy * wo;
        for (int kx = 0; kx < k; kx++) {
#pragma unroll
            for (int i = 0; i < 4; i++) {
                int ox;
                if (conv_tap(q.x0 + i + pad - kx, stride, wo, ox) && i < q.n) s[i] += row[kx * cols + ox];
            }
        }
    }
    conv_put4(x + (((long long)q.img * cin + ci) * h + q.y) * w + q.x0, s, q.n, vec);
}

// conv_nchw_to_cm transposes x (nb×C×P) to channel-major y[C][nb·P]: the
// plane of each (image, channel c = blockIdx.y) is copied whole, seen as one
// row of P pixels. vec: P % 4 == 0 and x and y 16-byte aligned.
extern "C" __global__ void conv_nchw_to_cm(const float *__restrict__ x, float *__restrict__ y, int nb, int c, int p,
                                           int vec) {
    const conv_quad q(nb, 1, p);
    if (!q.ok) return;
    const int ch = blockIdx.y;
    const float *src = x + ((long long)q.img * c + ch) * p + q.x0;
    float v[4];
    if (vec) {
        const float4 f = *reinterpret_cast<const float4 *>(src);
        v[0] = f.x, v[1] = f.y, v[2] = f.z, v[3] = f.w;
    } else {
#pragma unroll
        for (int i = 0; i < 4; i++) v[i] = i < q.n ? src[i] : 0.0f;
    }
    conv_put4(y + ((long long)ch * nb + q.img) * p + q.x0, v, q.n, vec);
}

// Implicit-GEMM convolution: the same three GEMMs, with tile loaders
// (gemm.cuh's tile_slots) that read the images and gradients where they
// lie instead of an unfolded copy, so no column matrix is written or read
// back and no workspace bounds the batch. Per operation:
//
//   forward          y[co][j]  = Σ_r  W[co][r] · X̂[r][j]        B: window_rows
//   backward filter  dw[co][r] = Σ_j  dy[co][j] · X̂[r][j]       A: cm_cols, B: im2col_cols
//   backward data    dx[ci][i] = Σ_t  Ŵ[ci][t] · D̂[t][i]        B: window_rows (stride 1)
//
// with r = (ci·K + ky)·K + kx, j = (img, oy, ox) an output pixel, i = (img,
// iy, ix) an input pixel, t = (co·K + ky)·K + kx, X̂ the im2col matrix,
// Ŵ[ci][t] = W[co][ci][ky][kx] (conv_w_transpose) and D̂[t][i] = dy[img][co]
// [iy+pad−ky][ix+pad−kx]. A thread's four columns of a slot are consecutive
// pixels of one image row: the host requires the row width (Wo, or W for
// backward data) to be a multiple of 4.

struct conv_geom {
    int n, cin, h, w, cout, k, stride, pad, ho, wo;
};

// small_div is ⌊a/b⌋ for 0 ≤ a < 2²² given inv = 1/b rounded: (a+½)/b is
// at least ½/b away from an integer, and the float product's error is at
// most (a+½)/b · 2⁻²³ < ½/b. It replaces two integer divisions per slot
// and slice in the loaders' inner loop.
__device__ __forceinline__ int small_div(int a, float inv) { return (int)(((float)a + 0.5f) * inv); }

// conv_cols tracks a thread's output column j = (img, oy, ox) as k advances
// through it by BK per slice (the backward filter's k is j), so the loop
// never divides.
struct conv_cols {
    int img, oy, ox;
    __device__ __forceinline__ void start(int j, int ho, int wo) {
        const int plane = ho * wo;
        img = j / plane;
        oy = (j % plane) / wo;
        ox = j % wo;
    }
    __device__ __forceinline__ void advance(int by, int ho, int wo) {
        ox += by;
        while (ox >= wo) {
            ox -= wo;
            if (++oy == ho) {
                oy = 0;
                img++;
            }
        }
    }
};

// window_rows is the B operand of the forward and of the stride-1
// backward data: k-major, element (k = (c·K + ky)·K + kx, w = a column
// pixel) of the matrix whose column holds the K×K window of src (nb images
// of C×H×W) around that pixel. The thread's columns j..j+3 are fixed, pixels
// (py, px..px+3) of one image row in a column space of ch×cw per image;
// their windows start at (py, px)·scale + offset, and tap (ky, kx) of
// column q reads src at (y0 + DIR·ky, x0 + DIR·kx + q·scale):
//
//   forward (X̂):  columns are output pixels, scale = stride, offset = −pad, DIR = +1, src = x;
//   backward (D̂): columns are input pixels,  scale = 1, offset = +pad, DIR = −1, src = dy.
//
// Each slot's row is split into (c, ky, kx) per slice.
template <int BW, int BK, int THREADS, int DIR>
struct window_rows {
    using slots = tile_slots<BW, BK, THREADS, true>;
    static constexpr int N4 = slots::N4;

    const float *img;  // this thread's image of src, or nullptr past the last column
    int y0, x0;        // where tap (0, 0) of the first column reads
    int kmax, kk, k, scale, h, w;
    float kinv, kkinv;
    int wi[N4], ki[N4];
    float4 r[N4];

    // init places the thread: src has c channels of h×w per image; columns
    // run over nb images of ch×cw pixels.
    __device__ __forceinline__ void init(const float *src, int nb, int c, int h_, int w_, int ch, int cw, int k_,
                                         int scale_, int offset, int n0, int kend) {
        slots::init(wi, ki);
        const int j = n0 + wi[0], plane = ch * cw;
        img = nullptr;
        if (j < nb * plane) {
            img = src + (long long)(j / plane) * c * h_ * w_;
            y0 = (j % plane) / cw * scale_ + offset;
            x0 = j % cw * scale_ + offset;
        }
        kmax = kend;
        k = k_;
        kk = k_ * k_;
        scale = scale_;
        h = h_;
        w = w_;
        kinv = 1.0f / k_;
        kkinv = 1.0f / kk;
    }

    __device__ __forceinline__ void load(int kt) {
#pragma unroll
        for (int i = 0; i < N4; i++) {
            const int row = kt + ki[i];
            float v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            if (img != nullptr && row < kmax) {
                const int c = small_div(row, kkinv), rem = row - c * kk;
                const int ky = small_div(rem, kinv), kx = rem - ky * k;
                const int y = y0 + DIR * ky;
                if (y >= 0 && y < h) {
                    const float *src = img + ((long long)c * h + y) * w;
#pragma unroll
                    for (int q = 0; q < 4; q++) {
                        const int x = x0 + DIR * kx + q * scale;
                        if (x >= 0 && x < w) v[q] = src[x];
                    }
                }
            }
            r[i] = make_float4(v[0], v[1], v[2], v[3]);
        }
    }

    template <int LDS, typename Cvt>
    __device__ __forceinline__ void store(float *tile, Cvt cvt) const {
        slots::template store<LDS>(r, wi, ki, tile, cvt);
    }
};

// cm_cols is the backward filter's A: element (w = co, k = j) of dy read as
// the channel-major matrix dy[co][j], four consecutive pixels per slot.
template <int BW, int BK, int THREADS>
struct cm_cols {
    using slots = tile_slots<BW, BK, THREADS, false>;
    static constexpr int N4 = slots::N4;

    const float *dy;
    conv_cols at;  // the column j = kt + ki[0] of the next load
    int m0, kmax, cout, ho, wo;
    bool vec;
    int wi[N4], ki[N4];
    float4 r[N4];

    __device__ __forceinline__ void init(const float *dy_, const conv_geom &g, int m0_, int kbeg, int kend, bool vec_) {
        slots::init(wi, ki);
        dy = dy_;
        at.start(kbeg + ki[0], g.ho, g.wo);
        m0 = m0_;
        kmax = kend;
        cout = g.cout;
        ho = g.ho;
        wo = g.wo;
        vec = vec_;
    }

    // load reads the slice at kt; calls come in order, BK apart.
    __device__ __forceinline__ void load(int kt) {
        const long long plane = (long long)ho * wo;
        const float *base = dy + (at.img * cout * plane + at.oy * wo + at.ox);
        const bool live = kt + ki[0] < kmax;
#pragma unroll
        for (int i = 0; i < N4; i++) {
            const int co = m0 + wi[i];
            r[i] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (live && co < cout) {
                const float *p = base + co * plane;
                r[i] = vec ? *reinterpret_cast<const float4 *>(p) : make_float4(p[0], p[1], p[2], p[3]);
            }
        }
        at.advance(BK, ho, wo);
    }

    template <int LDS, typename Cvt>
    __device__ __forceinline__ void store(float *tile, Cvt cvt) const {
        slots::template store<LDS>(r, wi, ki, tile, cvt);
    }
};

// im2col_cols is the backward filter's B: element (w = r, k = j) of X̂ᵀ.
// Each slot's row r is fixed, split into (ci, ky, kx) once; the columns
// advance with k.
template <int BW, int BK, int THREADS>
struct im2col_cols {
    using slots = tile_slots<BW, BK, THREADS, false>;
    static constexpr int N4 = slots::N4;

    const float *x;
    conv_cols at;
    int kmax, cin, h, w, ho, wo, stride, pad;
    int coff[N4], ky[N4], kx[N4];  // per slot: ci·h·w (−1 past the last row), ky, kx
    int wi[N4], ki[N4];
    float4 r[N4];

    __device__ __forceinline__ void init(const float *x_, const conv_geom &g, int n0, int kbeg, int kend) {
        slots::init(wi, ki);
        x = x_;
        at.start(kbeg + ki[0], g.ho, g.wo);
        kmax = kend;
        cin = g.cin;
        h = g.h;
        w = g.w;
        ho = g.ho;
        wo = g.wo;
        stride = g.stride;
        pad = g.pad;
        const int kk = g.k * g.k;
#pragma unroll
        for (int i = 0; i < N4; i++) {
            const int row = n0 + wi[i], rem = row % kk;
            coff[i] = row < g.cin * kk ? row / kk * g.h * g.w : -1;
            ky[i] = rem / g.k;
            kx[i] = rem % g.k;
        }
    }

    __device__ __forceinline__ void load(int kt) {
        const float *img = x + (long long)at.img * cin * h * w;
        const int iy0 = at.oy * stride - pad, ix0 = at.ox * stride - pad;
        const bool live = kt + ki[0] < kmax;
#pragma unroll
        for (int i = 0; i < N4; i++) {
            float v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            const int iy = iy0 + ky[i];
            if (live && coff[i] >= 0 && iy >= 0 && iy < h) {
                const float *src = img + coff[i] + iy * w;
#pragma unroll
                for (int q = 0; q < 4; q++) {
                    const int ix = ix0 + kx[i] + q * stride;
                    if (ix >= 0 && ix < w) v[q] = src[ix];
                }
            }
            r[i] = make_float4(v[0], v[1], v[2], v[3]);
        }
        at.advance(BK, ho, wo);
    }

    template <int LDS, typename Cvt>
    __device__ __forceinline__ void store(float *tile, Cvt cvt) const {
        slots::template store<LDS>(r, wi, ki, tile, cvt);
    }
};

// conv_w_transpose writes Ŵ[ci][co·K·K + kk] = W[co][ci][kk], the backward
// data's A operand (a few MB at most, once per call).
extern "C" __global__ void conv_w_transpose(const float *__restrict__ w, float *__restrict__ wt, int cout, int cin,
                                            int kk) {
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= (long long)cout * cin * kk) return;
    const int q = (int)(e % kk), co = (int)((e / kk) % cout), ci = (int)(e / ((long long)kk * cout));
    wt[e] = w[((long long)co * cin + ci) * kk + q];
}

// The implicit convolutions on tile T. Arguments, besides the operands:
// the geometry, C's addressing and scaling as in the GEMM (a split-K
// launch writes plain partials, ldc = n, cg = 0, folded by
// gemm_splitk_reduce), split-K, and GEMM_VEC_* flags.
#define CONV_PARAMS                                                                                               \
    const float *__restrict__ A, const float *__restrict__ B, float *__restrict__ C, int nimg, int cin, int h,     \
        int w, int cout, int k, int stride, int pad, int ho, int wo, int ldc, int cg, long long cgs, float alpha, \
        float beta, int kchunk, int splits, int flags

// The three passes, as conv_body's OP.
#define CONV_FWD 0
#define CONV_BWD_FILTER 1
#define CONV_BWD_DATA 2

// conv_body runs pass OP on tile T:
//   CONV_FWD         A = W (cout × cin·K·K), B = x;  C = y
//   CONV_BWD_FILTER  A = dy, B = x;                   C = dw (cout × cin·K·K)
//   CONV_BWD_DATA    A = Ŵ (cin × cout·K·K), B = dy;  C = dx (stride 1)
template <class T, int OP>
__device__ __forceinline__ void conv_body(CONV_PARAMS) {
    const int m = OP == CONV_BWD_DATA ? cin : cout;
    const int n = OP == CONV_FWD ? nimg * ho * wo : OP == CONV_BWD_DATA ? nimg * h * w : cin * k * k;
    const int kdim = OP == CONV_FWD ? cin * k * k : OP == CONV_BWD_DATA ? cout * k * k : nimg * ho * wo;
    const gemm_split s(kdim, kchunk, splits);
    const int m0 = blockIdx.y * T::BM, n0 = blockIdx.x * T::BN;
    const gemm_out o{C + s.z * (long long)m * n, m, n, ldc, cg, cgs, alpha, beta, (flags & GEMM_VEC_C) != 0};
    if constexpr (OP == CONV_BWD_FILTER) {
        const conv_geom g{nimg, cin, h, w, cout, k, stride, pad, ho, wo};
        cm_cols<T::BM, T::BK, T::THREADS> la;
        im2col_cols<T::BN, T::BK, T::THREADS> lb;
        la.init(A, g, m0, s.kbeg, s.kend, flags & GEMM_VEC_A);
        lb.init(B, g, n0, s.kbeg, s.kend);
        T::run(la, lb, s.kbeg, s.kend, m0, n0, o);
    } else {
        typename T::template loader_a<false> la;
        window_rows<T::BN, T::BK, T::THREADS, OP == CONV_FWD ? 1 : -1> lb;
        la.init(A, kdim, m0, m, s.kend, flags & GEMM_VEC_A);
        if (OP == CONV_FWD) {
            lb.init(B, nimg, cin, h, w, ho, wo, k, stride, -pad, n0, s.kend);
        } else {
            lb.init(B, nimg, cout, ho, wo, h, w, k, 1, pad, n0, s.kend);
        }
        T::run(la, lb, s.kbeg, s.kend, m0, n0, o);
    }
}

#define CONV_ENTRY(name, OP, tile, T, MINB)                                                                   \
    extern "C" __global__ void __launch_bounds__(T::THREADS, MINB) name##_##tile(CONV_PARAMS) {             \
        conv_body<T, OP>(A, B, C, nimg, cin, h, w, cout, k, stride, pad, ho, wo, ldc, cg, cgs, alpha, beta, kchunk, \
                         splits, flags);                                                                     \
    }
#define CONV_ENTRIES(tile, T, MINB)                               \
    CONV_ENTRY(conv_fwd, CONV_FWD, tile, T, MINB)                 \
    CONV_ENTRY(conv_bwd_filter, CONV_BWD_FILTER, tile, T, MINB)   \
    CONV_ENTRY(conv_bwd_data, CONV_BWD_DATA, tile, T, MINB)

CONV_ENTRIES(128x128, tile_128x128, 2)
CONV_ENTRIES(64x64, tile_64x64, 6)
CONV_ENTRIES(32x128, tile_32x128, 6)
CONV_ENTRIES(tf32_128x128, tile_tf32_128x128, 2)
CONV_ENTRIES(tf32_64x64, tile_tf32_64x64, 4)
