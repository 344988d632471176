// Winograd F(m×m, 3×3) for 3×3 stride-1 convolutions (Lavin & Gray 2015),
// m = 2 or 4: each m×m block of outputs is computed from a t×t block of
// inputs (t = m + 2) with t² multiplications per (input, output) channel
// pair instead of 9m² (16 instead of 36 for m = 2, 36 instead of 144 for
// m = 4). In three steps, with ξ = 0..t²−1 the position in a transformed
// tile:
//
//   U[ξ][co][ci] = (G g Gᵀ)[ξ]     the filters          wino*_filter
//   V[ξ][ci][p]  = (Bᵀ d_p B)[ξ]   each input tile p    wino*_input
//   M[ξ]         = U[ξ] · V[ξ]     t² GEMMs (gemm.cuh, one batched launch)
//   y_p          = Aᵀ M_p A        each output tile     wino*_output
//
// Backward data is the same computation on dy with the filters flipped and
// Cin, Cout swapped. The filter gradient runs the adjoints: with dy's tiles
// transformed as dM_p = A·dy_p·Aᵀ (wino*_output_adjoint) and V as above,
// dU[ξ] = dM[ξ]·V[ξ]ᵀ (t² GEMMs, k = the tiles) and dw = Gᵀ·dU·G
// (wino*_filter_adjoint); dy is zero outside the output, so partial tiles
// need no special case.
//
// m = 2's transforms are exact in binary (G's halves); m = 4's G has sixths
// and 24ths and its other matrices entries up to 8, so it rounds more: about
// 3e-6 of the output's size at 256 channels, against 1.5e-6 for m = 2.

// wino_mats<m> are F(m×m, 3×3)'s matrices, as local constants: the
// unrolled loops below fold them into the code.
template <int m> struct wino_mats;

template <> struct wino_mats<2> {
    static constexpr int t = 4;
    __device__ __forceinline__ static float bt(int i, int j) {
        const float v[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
        return v[i][j];
    }
    __device__ __forceinline__ static float g(int i, int j) {
        const float v[4][3] = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};
        return v[i][j];
    }
    __device__ __forceinline__ static float at(int i, int j) {
        const float v[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
        return v[i][j];
    }
};

template <> struct wino_mats<4> {
    static constexpr int t = 6;
    __device__ __forceinline__ static float bt(int i, int j) {
        const float v[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                               {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
        return v[i][j];
    }
    __device__ __forceinline__ static float g(int i, int j) {
        const float v[6][3] = {{1.0f / 4, 0, 0},
                               {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                               {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                               {1.0f / 24, 1.0f / 12, 1.0f / 6},
                               {1.0f / 24, -1.0f / 12, 1.0f / 6},
                               {0, 0, 1}};
        return v[i][j];
    }
    __device__ __forceinline__ static float at(int i, int j) {
        const float v[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
        return v[i][j];
    }
};

// wino_sandwich computes out = L·in·Lᵀ for out R×R and in K×K, with L(i, k)
// a matrix accessor: every transform above is one (L = G, Bᵀ, Aᵀ, or for
// the adjoints their transposes). Terms with a zero coefficient are
// skipped at compile time.
template <int R, int K, class L>
__device__ __forceinline__ void wino_sandwich(L l, const float (&in)[K][K], float (&out)[R][R]) {
    float mid[R][K];
#pragma unroll
    for (int i = 0; i < R; i++)
#pragma unroll
        for (int j = 0; j < K; j++) {
            float s = 0.0f;
#pragma unroll
            for (int k = 0; k < K; k++)
                if (l(i, k) != 0.0f) s = fmaf(l(i, k), in[k][j], s);
            mid[i][j] = s;
        }
#pragma unroll
    for (int i = 0; i < R; i++)
#pragma unroll
        for (int j = 0; j < R; j++) {
            float s = 0.0f;
#pragma unroll
            for (int k = 0; k < K; k++)
                if (l(j, k) != 0.0f) s = fmaf(mid[i][k], l(j, k), s);
            out[i][j] = s;
        }
}

// The matrix accessors, as the sandwiches take them.
template <int m> struct wino_g {  // G: t×3
    __device__ __forceinline__ float operator()(int i, int k) const { return wino_mats<m>::g(i, k); }
};
template <int m> struct wino_gt {  // Gᵀ: 3×t
    __device__ __forceinline__ float operator()(int i, int k) const { return wino_mats<m>::g(k, i); }
};
template <int m> struct wino_bt {  // Bᵀ: t×t
    __device__ __forceinline__ float operator()(int i, int k) const { return wino_mats<m>::bt(i, k); }
};
template <int m> struct wino_at {  // Aᵀ: m×t
    __device__ __forceinline__ float operator()(int i, int k) const { return wino_mats<m>::at(i, k); }
};
template <int m> struct wino_a {  // A: t×m
    __device__ __forceinline__ float operator()(int i, int k) const { return wino_mats<m>::at(k, i); }
};

// wino_thread is one (channel, tile) thread of a transform launch over the
// tiles = nb·th·tw tiles of c channels, consecutive threads on consecutive
// tiles: its channel, its tile p and the tile's image and top-left output
// (y, x). ok is false past the last.
struct wino_thread {
    long long tiles, p;
    int ch, img, y, x;
    bool ok;
    __device__ __forceinline__ wino_thread(int nb, int c, int th, int tw, int m) {
        tiles = (long long)nb * th * tw;
        const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
        ok = e < tiles * c;
        ch = (int)(e / tiles);
        p = e % tiles;
        img = (int)(p / (th * tw));
        const int q = (int)(p % (th * tw));
        y = q / tw * m;
        x = q % tw * m;
    }
    // at is where the thread's transformed tile starts in V or M
    // ([ξ][c][tiles]); its values lie c·tiles apart.
    __device__ __forceinline__ long long at() const { return (long long)ch * tiles + p; }
};

// wino_put and wino_get move a t×t tile to and from memory, its values
// stride apart (one per ξ).
template <int t>
__device__ __forceinline__ void wino_put(const float (&r)[t][t], float *dst, long long stride) {
#pragma unroll
    for (int i = 0; i < t * t; i++) dst[i * stride] = r[i / t][i % t];
}
template <int t>
__device__ __forceinline__ void wino_get(float (&r)[t][t], const float *src, long long stride) {
#pragma unroll
    for (int i = 0; i < t * t; i++) r[i / t][i % t] = src[i * stride];
}

// Filters w[cout][cin][3][3] → U[ξ][co][ci] (U[ξ] cout×cin). With flip the
// filters are flipped in both spatial directions and U[ξ] is cin×cout: the
// filters of the data gradient.
template <int m>
__device__ __forceinline__ void wino_filter(const float *__restrict__ w, float *__restrict__ u, int cout, int cin,
                                            int flip) {
    constexpr int t = wino_mats<m>::t;
    const int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= cout * cin) return;
    const int co = e / cin, ci = e % cin;
    float g[3][3], r[t][t];
#pragma unroll
    for (int i = 0; i < 3; i++)
#pragma unroll
        for (int j = 0; j < 3; j++) g[i][j] = flip ? w[e * 9 + (2 - i) * 3 + (2 - j)] : w[e * 9 + i * 3 + j];
    wino_sandwich<t, 3>(wino_g<m>(), g, r);
    wino_put<t>(r, u + (flip ? (long long)ci * cout + co : e), (long long)cout * cin);
}

// Images x[nb][c][h][w], padded by pad → V[ξ][ci][p], tile p = (img, ty, tx)
// of th×tw per image covering input rows m·ty − pad … m·ty − pad + t − 1.
template <int m>
__device__ __forceinline__ void wino_input(const float *__restrict__ x, float *__restrict__ v, int nb, int c, int h,
                                           int w, int pad, int th, int tw) {
    constexpr int t = wino_mats<m>::t;
    const wino_thread me(nb, c, th, tw, m);
    if (!me.ok) return;
    const float *src = x + ((long long)me.img * c + me.ch) * h * w;
    float d[t][t], r[t][t];
#pragma unroll
    for (int i = 0; i < t; i++)
#pragma unroll
        for (int j = 0; j < t; j++) {
            const int iy = me.y - pad + i, ix = me.x - pad + j;
            d[i][j] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? src[iy * w + ix] : 0.0f;
        }
    wino_sandwich<t, t>(wino_bt<m>(), d, r);
    wino_put<t>(r, v + me.at(), c * me.tiles);
}

// M[ξ][c][p] → y[nb][c][ho][wo], dropping the outputs of partial tiles that
// fall outside.
template <int m>
__device__ __forceinline__ void wino_output(const float *__restrict__ mm, float *__restrict__ y, int nb, int c, int ho,
                                            int wo, int th, int tw) {
    constexpr int t = wino_mats<m>::t;
    const wino_thread me(nb, c, th, tw, m);
    if (!me.ok) return;
    float q[t][t], r[m][m];
    wino_get<t>(q, mm + me.at(), c * me.tiles);
    wino_sandwich<m, t>(wino_at<m>(), q, r);
    float *dst = y + ((long long)me.img * c + me.ch) * ho * wo;
#pragma unroll
    for (int i = 0; i < m; i++)
#pragma unroll
        for (int j = 0; j < m; j++)
            if (me.y + i < ho && me.x + j < wo) dst[(me.y + i) * wo + me.x + j] = r[i][j];
}

// dy[nb][c][ho][wo] → dM[ξ][c][p] = A·dy_p·Aᵀ: wino_output's adjoint.
template <int m>
__device__ __forceinline__ void wino_output_adjoint(const float *__restrict__ dy, float *__restrict__ dm, int nb, int c,
                                                    int ho, int wo, int th, int tw) {
    constexpr int t = wino_mats<m>::t;
    const wino_thread me(nb, c, th, tw, m);
    if (!me.ok) return;
    const float *src = dy + ((long long)me.img * c + me.ch) * ho * wo;
    float g[m][m], r[t][t];
#pragma unroll
    for (int i = 0; i < m; i++)
#pragma unroll
        for (int j = 0; j < m; j++)
            g[i][j] = (me.y + i < ho && me.x + j < wo) ? src[(me.y + i) * wo + me.x + j] : 0.0f;
    wino_sandwich<t, m>(wino_a<m>(), g, r);
    wino_put<t>(r, dm + me.at(), c * me.tiles);
}

// dU[ξ][co][ci] → dw[cout][cin][3][3] = Gᵀ·dU·G: wino_filter's adjoint.
template <int m>
__device__ __forceinline__ void wino_filter_adjoint(const float *__restrict__ du, float *__restrict__ dw, int cout,
                                                    int cin) {
    constexpr int t = wino_mats<m>::t;
    const int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= cout * cin) return;
    float q[t][t], r[3][3];
    wino_get<t>(q, du + e, (long long)cout * cin);
    wino_sandwich<3, t>(wino_gt<m>(), q, r);
#pragma unroll
    for (int i = 0; i < 9; i++) dw[e * 9 + i] = r[i / 3][i % 3];
}

// The entries, per m: wino2_filter, …, wino4_filter_adjoint.
#define WINO_ENTRIES(m)                                                                                            \
    extern "C" __global__ void wino##m##_filter(const float *__restrict__ w, float *__restrict__ u, int cout,      \
                                                int cin, int flip) {                                              \
        wino_filter<m>(w, u, cout, cin, flip);                                                                     \
    }                                                                                                              \
    extern "C" __global__ void wino##m##_input(const float *__restrict__ x, float *__restrict__ v, int nb, int c,  \
                                               int h, int w, int pad, int th, int tw) {                            \
        wino_input<m>(x, v, nb, c, h, w, pad, th, tw);                                                             \
    }                                                                                                              \
    extern "C" __global__ void wino##m##_output(const float *__restrict__ mm, float *__restrict__ y, int nb, int c, \
                                                int ho, int wo, int th, int tw) {                                 \
        wino_output<m>(mm, y, nb, c, ho, wo, th, tw);                                                              \
    }                                                                                                              \
    extern "C" __global__ void wino##m##_output_adjoint(const float *__restrict__ dy, float *__restrict__ dm,      \
                                                        int nb, int c, int ho, int wo, int th, int tw) {          \
        wino_output_adjoint<m>(dy, dm, nb, c, ho, wo, th, tw);                                                     \
    }                                                                                                              \
    extern "C" __global__ void wino##m##_filter_adjoint(const float *__restrict__ du, float *__restrict__ dw,      \
                                                        int cout, int cin) {                                      \
        wino_filter_adjoint<m>(du, dw, cout, cin);                                                                 \
    }

WINO_ENTRIES(2)
WINO_ENTRIES(4)
