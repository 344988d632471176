// Convolution as im2col + GEMM, over a chunk of nb images at once: the
// column matrix is col[Cin·K·K][nb·Ho·Wo], row r = (ci·K + ky)·K + kx,
// column j = img·Ho·Wo + oy·Wo + ox, so one GEMM covers the whole chunk
// and its N dimension is large even where Ho·Wo is small.

// conv_im2col unfolds x (nb×Cin×H×W) into col; blockIdx.y is the row r, so
// the (ci, ky, kx) split happens once per block and consecutive threads
// write consecutive columns.
extern "C" __global__ void conv_im2col(const float *__restrict__ x, float *__restrict__ col, int nb, int cin, int h,
                                       int w, int k, int stride, int pad, int ho, int wo) {
    const int r = blockIdx.y, kx = r % k, ky = (r / k) % k, ci = r / (k * k);
    const int plane = ho * wo;
    const long long cols = (long long)nb * plane;
    const long long j = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= cols) return;
    const int img = (int)(j / plane), p = (int)(j % plane);
    const int iy = (p / wo) * stride - pad + ky, ix = (p % wo) * stride - pad + kx;
    float v = 0.0f;
    if (iy >= 0 && iy < h && ix >= 0 && ix < w) v = x[((long long)img * cin + ci) * h * w + iy * w + ix];
    col[r * cols + j] = v;
}

// conv_col2im is im2col's adjoint as a gather: each input pixel sums the
// column entries it was copied to, in (ky, kx) order, so there are no
// atomics and the result does not depend on scheduling.
extern "C" __global__ void conv_col2im(const float *__restrict__ col, float *__restrict__ x, int nb, int cin, int h,
                                       int w, int k, int stride, int pad, int ho, int wo) {
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= (long long)nb * cin * h * w) return;
    const int ix = (int)(e % w), iy = (int)((e / w) % h), ci = (int)((e / ((long long)w * h)) % cin);
    const int img = (int)(e / ((long long)w * h * cin));
    const long long cols = (long long)nb * ho * wo;
    const float *c = col + (long long)img * ho * wo;
    float s = 0.0f;
    for (int ky = 0; ky < k; ky++) {
        const int ty = iy + pad - ky;
        if (ty < 0 || ty % stride != 0 || ty / stride >= ho) continue;
        const int oy = ty / stride;
        for (int kx = 0; kx < k; kx++) {
            const int tx = ix + pad - kx;
            if (tx < 0 || tx % stride != 0 || tx / stride >= wo) continue;
            s += c[((ci * k + ky) * k + kx) * cols + oy * wo + tx / stride];
        }
    }
    x[e] = s;
}

// conv_nchw_to_cm transposes x (nb×C×P) to channel-major y[C][nb·P], the
// layout of dy that the backward GEMMs read along their long dimension.
extern "C" __global__ void conv_nchw_to_cm(const float *__restrict__ x, float *__restrict__ y, int nb, int c, int p) {
    const long long cols = (long long)nb * p;
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= cols * c) return;
    const long long ch = e / cols, j = e % cols;
    const long long img = j / p, q = j % p;
    y[e] = x[(img * c + ch) * p + q];
}
