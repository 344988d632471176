// Winograd F(2×2, 3×3) for 3×3 stride-1 convolutions (Lavin & Gray 2015):
// each 2×2 block of outputs is computed from a 4×4 block of inputs with 16
// multiplications per (input, output) channel pair instead of 36. In three
// steps, with ξ = 0..15 the position in the transformed 4×4 tile:
//
//   U[ξ][co][ci] = (G g Gᵀ)[ξ]     the filters          wino_filter
//   V[ξ][ci][p]  = (Bᵀ d_p B)[ξ]   each input tile p    wino_input
//   M[ξ]         = U[ξ] · V[ξ]     16 GEMMs (gemm.cuh, one batched launch)
//   y_p          = Aᵀ M_p A        each output tile     wino_output
//
// G's halves are exact in binary, so the only rounding beyond a direct
// convolution's is in the transforms' few additions. Backward data is the
// same computation on dy with the filters flipped and Cin, Cout swapped.

// wino_filter writes U for filters w[cout][cin][3][3]. Forward: U[ξ] is
// cout×cin. Backward (flip != 0): the filters are flipped in both spatial
// directions and U[ξ] is cin×cout, the filters of the data gradient.
extern "C" __global__ void wino_filter(const float *__restrict__ w, float *__restrict__ u, int cout, int cin,
                                       int flip) {
    const int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= cout * cin) return;
    const int co = e / cin, ci = e % cin;
    float g[3][3];
#pragma unroll
    for (int i = 0; i < 3; i++)
#pragma unroll
        for (int j = 0; j < 3; j++) g[i][j] = flip ? w[e * 9 + (2 - i) * 3 + (2 - j)] : w[e * 9 + i * 3 + j];
    float t[4][3];  // G·g
#pragma unroll
    for (int j = 0; j < 3; j++) {
        t[0][j] = g[0][j];
        t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
        t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
        t[3][j] = g[2][j];
    }
    const long long plane = (long long)cout * cin;
    const long long at = flip ? (long long)ci * cout + co : e;
#pragma unroll
    for (int i = 0; i < 4; i++) {  // (G·g)·Gᵀ, row i
        u[(i * 4 + 0) * plane + at] = t[i][0];
        u[(i * 4 + 1) * plane + at] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        u[(i * 4 + 2) * plane + at] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        u[(i * 4 + 3) * plane + at] = t[i][2];
    }
}

// wino_input writes V for nb images x[nb][c][h][w] padded by pad: tile p =
// (img, ty, tx) of th×tw per image covers input rows 2ty−pad … 2ty−pad+3.
// One thread per (channel, tile); consecutive threads, consecutive tiles.
extern "C" __global__ void wino_input(const float *__restrict__ x, float *__restrict__ v, int nb, int c, int h, int w,
                                      int pad, int th, int tw) {
    const long long tiles = (long long)nb * th * tw;
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= tiles * c) return;
    const int ch = (int)(e / tiles);
    const long long p = e % tiles;
    const int img = (int)(p / (th * tw)), t = (int)(p % (th * tw));
    const int y0 = (t / tw) * 2 - pad, x0 = (t % tw) * 2 - pad;
    const float *src = x + ((long long)img * c + ch) * h * w;
    float d[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int iy = y0 + i, ix = x0 + j;
            d[i][j] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? src[iy * w + ix] : 0.0f;
        }
    float b[4][4];  // Bᵀ·d
#pragma unroll
    for (int j = 0; j < 4; j++) {
        b[0][j] = d[0][j] - d[2][j];
        b[1][j] = d[1][j] + d[2][j];
        b[2][j] = d[2][j] - d[1][j];
        b[3][j] = d[1][j] - d[3][j];
    }
    const long long stride = (long long)c * tiles;
    float *dst = v + (long long)ch * tiles + p;
#pragma unroll
    for (int i = 0; i < 4; i++) {  // (Bᵀ·d)·B, row i
        dst[(i * 4 + 0) * stride] = b[i][0] - b[i][2];
        dst[(i * 4 + 1) * stride] = b[i][1] + b[i][2];
        dst[(i * 4 + 2) * stride] = b[i][2] - b[i][1];
        dst[(i * 4 + 3) * stride] = b[i][1] - b[i][3];
    }
}

// wino_output folds M[ξ][c][p] back into 2×2 output blocks of y[nb][c][ho]
// [wo], dropping the outputs of partial tiles that fall outside.
extern "C" __global__ void wino_output(const float *__restrict__ m, float *__restrict__ y, int nb, int c, int ho,
                                       int wo, int th, int tw) {
    const long long tiles = (long long)nb * th * tw;
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= tiles * c) return;
    const int ch = (int)(e / tiles);
    const long long p = e % tiles;
    const int img = (int)(p / (th * tw)), t = (int)(p % (th * tw));
    const int oy = (t / tw) * 2, ox = (t % tw) * 2;
    const long long stride = (long long)c * tiles;
    const float *src = m + (long long)ch * tiles + p;
    float q[4][4];
#pragma unroll
    for (int i = 0; i < 16; i++) q[i / 4][i % 4] = src[i * stride];
    float a[2][4];  // Aᵀ·M
#pragma unroll
    for (int j = 0; j < 4; j++) {
        a[0][j] = q[0][j] + q[1][j] + q[2][j];
        a[1][j] = q[1][j] - q[2][j] - q[3][j];
    }
    float *dst = y + ((long long)img * c + ch) * ho * wo;
#pragma unroll
    for (int i = 0; i < 2; i++) {  // (Aᵀ·M)·A, row i
        if (oy + i >= ho) break;
        dst[(oy + i) * wo + ox] = a[i][0] + a[i][1] + a[i][2];
        if (ox + 1 < wo) dst[(oy + i) * wo + ox + 1] = a[i][1] - a[i][2] - a[i][3];
    }
}

// The filter gradient runs the forward pass's adjoints: with dy's tiles
// transformed as dM_p = A·dy_p·Aᵀ (wino_output_adjoint, the adjoint of
// wino_output) and the input tiles V as in the forward pass,
//
//   dU[ξ] = dM[ξ] · V[ξ]ᵀ          16 GEMMs, k = the tiles
//   dw    = Gᵀ·dU·G                wino_filter_adjoint
//
// (dy is zero outside the output, so partial tiles need no special case.)

// wino_output_adjoint writes dM[ξ][c][p] for nb images of dy[nb][c][ho][wo].
extern "C" __global__ void wino_output_adjoint(const float *__restrict__ dy, float *__restrict__ dm, int nb, int c,
                                               int ho, int wo, int th, int tw) {
    const long long tiles = (long long)nb * th * tw;
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= tiles * c) return;
    const int ch = (int)(e / tiles);
    const long long p = e % tiles;
    const int img = (int)(p / (th * tw)), t = (int)(p % (th * tw));
    const int oy = (t / tw) * 2, ox = (t % tw) * 2;
    const float *src = dy + ((long long)img * c + ch) * ho * wo;
    float g[2][2];
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) g[i][j] = (oy + i < ho && ox + j < wo) ? src[(oy + i) * wo + ox + j] : 0.0f;
    // A·g: A is 4×2, rows (1,0), (1,1), (1,−1), (0,−1).
    float a[4][2];
#pragma unroll
    for (int j = 0; j < 2; j++) {
        a[0][j] = g[0][j];
        a[1][j] = g[0][j] + g[1][j];
        a[2][j] = g[0][j] - g[1][j];
        a[3][j] = -g[1][j];
    }
    const long long stride = (long long)c * tiles;
    float *dst = dm + (long long)ch * tiles + p;
#pragma unroll
    for (int i = 0; i < 4; i++) {  // (A·g)·Aᵀ, row i
        dst[(i * 4 + 0) * stride] = a[i][0];
        dst[(i * 4 + 1) * stride] = a[i][0] + a[i][1];
        dst[(i * 4 + 2) * stride] = a[i][0] - a[i][1];
        dst[(i * 4 + 3) * stride] = -a[i][1];
    }
}

// wino_filter_adjoint writes dw[cout][cin][3][3] = Gᵀ·dU·G from dU[ξ][co][ci].
extern "C" __global__ void wino_filter_adjoint(const float *__restrict__ du, float *__restrict__ dw, int cout,
                                               int cin) {
    const int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= cout * cin) return;
    const long long plane = (long long)cout * cin;
    float q[4][4];
#pragma unroll
    for (int i = 0; i < 16; i++) q[i / 4][i % 4] = du[i * plane + e];
    // Gᵀ·dU: Gᵀ is 3×4, rows (1, ½, ½, 0), (0, ½, −½, 0), (0, ½, ½, 1).
    float t[3][4];
#pragma unroll
    for (int j = 0; j < 4; j++) {
        t[0][j] = q[0][j] + 0.5f * (q[1][j] + q[2][j]);
        t[1][j] = 0.5f * (q[1][j] - q[2][j]);
        t[2][j] = 0.5f * (q[1][j] + q[2][j]) + q[3][j];
    }
#pragma unroll
    for (int i = 0; i < 3; i++) {  // (Gᵀ·dU)·G, row i
        dw[e * 9 + i * 3 + 0] = t[i][0] + 0.5f * (t[i][1] + t[i][2]);
        dw[e * 9 + i * 3 + 1] = 0.5f * (t[i][1] - t[i][2]);
        dw[e * 9 + i * 3 + 2] = 0.5f * (t[i][1] + t[i][2]) + t[i][3];
    }
}
