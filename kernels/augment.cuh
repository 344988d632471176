// BYOL's view pipelines on the GPU: one block per image runs the whole chain
// of core/augment (crop+resize, rotate, flip, colour jitter, grayscale, blur,
// solarize, noise, normalise) on the image held in shared memory.
//
// The host draws every random parameter with the CPU's own code
// (augment.Params) into one record per image; only the noise, a draw per
// pixel pair, is regenerated here from the same counter-based SplitMix64
// stream. The float math follows ops.go operation by operation, and every
// product that the CPU rounds before adding goes through aug_mul, so nvcc
// cannot contract it into an FMA: the views match the CPU's bit for bit but
// for the libm calls in the noise and the contrast mean's summation order.
#pragma once
#include <math.h>

// The per-image record, in 4-byte words (ints, or floats by bit pattern);
// core/backend/cuda/augment.go writes it.
#define AUG_IDX 0    // dataset index of the source image
#define AUG_FLAGS 1  // AUG_F_* bits
#define AUG_TOP 2    // source box: top, left, height, width
#define AUG_LEFT 3
#define AUG_BH 4
#define AUG_BW 5
#define AUG_COS 6    // rotation (float)
#define AUG_SIN 7
#define AUG_NJIT 8   // number of jitter ops, then the ops in order
#define AUG_ORDER 9  // 4 words: 0 brightness, 1 contrast, 2 saturation, 3 hue
#define AUG_FB 13    // jitter factors (float): brightness, contrast, saturation, hue
#define AUG_FC 14
#define AUG_FS 15
#define AUG_FH 16
#define AUG_BLUR 17  // blur taps, 0 for none; the taps start at AUG_TAPS
#define AUG_THRESH 18 // solarize threshold (float)
#define AUG_NSTD 19  // noise std (float)
#define AUG_KEYLO 20 // noise stream key, low and high halves
#define AUG_KEYHI 21
#define AUG_TAPS 24

#define AUG_F_ROTATE 1
#define AUG_F_FLIP 2
#define AUG_F_GRAY 4
#define AUG_F_SOLARIZE 8
#define AUG_F_NOISE 16

#define AUG_THREADS 256 // threads per block: the mean's reduction assumes it
#define AUG_SMEM 4096   // floats per shared image buffer (3x32x32 and 1x64x64 fit)

// aug_mul is a product rounded on its own, as Go does on amd64.
__device__ inline float aug_mul(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}

__device__ inline double aug_dmul(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

__device__ inline float aug_lerp(float a, float b, float f) { return a + aug_mul(f, b - a); }

// aug_clamp01 is clamp01: -0 and everything below maps to +0.
__device__ inline float aug_clamp01(float x) { return x <= 0.f ? 0.f : (x >= 1.f ? 1.f : x); }

// aug_luma is ((wr·r + wg·g) + wb·b) in float32, as ops.go sums it.
__device__ inline float aug_luma(float r, float g, float b) {
  return aug_mul(0.299f, r) + aug_mul(0.587f, g) + aug_mul(0.114f, b);
}

__device__ inline unsigned long long aug_mix64(unsigned long long z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

__device__ inline int aug_mirror(int i, int n) {
  if (n == 1) return 0;
  int period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  if (i >= n) i = period - i;
  return i;
}

// aug_tap is makeTaps for one output coordinate x of out over the source span
// [off, off+n): torch's bilinear with align_corners=False.
__device__ inline void aug_tap(int x, int off, int n, double scale, int* i0, int* i1, float* f) {
  double s = aug_dmul((double)x + 0.5, scale) - 0.5;
  if (s < 0) s = 0;
  int a = (int)s;
  if (a > n - 1) a = n - 1;
  *i0 = off + a;
  *i1 = off + (a + 1 < n ? a + 1 : n - 1);
  *f = (float)(s - (double)a);
}

__device__ inline float aug_frac(float x) {
  float i = (float)(int)x;
  if (i > x) i -= 1.f;
  return x - i;
}

// aug_hue is hueShift: torchvision's _rgb2hsv, a rotation, _hsv2rgb.
__device__ inline void aug_hue(float* pr, float* pg, float* pb, float f) {
  float r = *pr, g = *pg, b = *pb;
  float v = r, lo = r;
  if (g > v) v = g;
  if (b > v) v = b;
  if (g < lo) lo = g;
  if (b < lo) lo = b;
  float cr = v - lo;
  if (cr == 0.f) return;
  float s = cr / v;
  float rc = (v - r) / cr, gc = (v - g) / cr, bc = (v - b) / cr;
  float h;
  if (v == r) h = bc - gc;
  else if (v == g) h = 2.f + rc - bc;
  else h = 4.f + gc - rc;
  h = aug_frac(aug_frac(h / 6.f + 1.f) + f);
  float h6 = aug_mul(h, 6.f);
  float i = (float)(int)h6;
  float fr = h6 - i;
  float p = aug_clamp01(aug_mul(v, 1.f - s));
  float q = aug_clamp01(aug_mul(v, 1.f - aug_mul(s, fr)));
  float t = aug_clamp01(aug_mul(v, 1.f - aug_mul(s, 1.f - fr)));
  switch ((int)i % 6) {
    case 0: *pr = v; *pg = t; *pb = p; break;
    case 1: *pr = q; *pg = v; *pb = p; break;
    case 2: *pr = p; *pg = v; *pb = t; break;
    case 3: *pr = p; *pg = q; *pb = v; break;
    case 4: *pr = t; *pg = p; *pb = v; break;
    default: *pr = v; *pg = p; *pb = q; break;
  }
}

// aug_pipeline makes one image's view from its record rec (ri as ints, rf
// as floats). a and b are two c*h*w buffers (shared or global): every step
// reads a, and a step that cannot work in place writes b and swaps them. red
// is AUG_THREADS doubles of shared memory. Every branch depends on the record
// only, so all threads of the block reach the same barriers.
__device__ void aug_pipeline(const unsigned char* pix, const int* ri, const float* rf, float* out, float* a,
                             float* b, double* red, int c, int sh, int sw, int h, int w, float m0, float m1,
                             float m2, float s0, float s1, float s2) {
  const int tid = threadIdx.x, nt = AUG_THREADS;
  const int n = h * w, size = c * n, flags = ri[AUG_FLAGS];

  {  // crop + bilinear resize of the 8-bit source box, scaled to [0,1]
    const int top = ri[AUG_TOP], left = ri[AUG_LEFT], bh = ri[AUG_BH], bw = ri[AUG_BW];
    const double scx = (double)bw / (double)w, scy = (double)bh / (double)h;
    const unsigned char* src = pix + (long long)ri[AUG_IDX] * c * sh * sw;
    for (int e = tid; e < size; e += nt) {
      int ch = e / n, yx = e - ch * n, y = yx / w, x = yx - y * w;
      int x0, x1, y0, y1;
      float fx, fy;
      aug_tap(x, left, bw, scx, &x0, &x1, &fx);
      aug_tap(y, top, bh, scy, &y0, &y1, &fy);
      const unsigned char* p = src + (long long)ch * sh * sw;
      float t = aug_lerp((float)p[y0 * sw + x0], (float)p[y0 * sw + x1], fx);
      float u = aug_lerp((float)p[y1 * sw + x0], (float)p[y1 * sw + x1], fx);
      a[e] = aug_lerp(t, u, fy) / 255.f;
    }
    __syncthreads();
  }

  if (flags & AUG_F_ROTATE) {  // inverse-map each output centre, edges replicated
    const float cs = rf[AUG_COS], sn = rf[AUG_SIN];
    const float cx = (float)w / 2.f, cy = (float)h / 2.f;
    for (int yx = tid; yx < n; yx += nt) {
      int y = yx / w, x = yx - y * w;
      float dx = (float)x + 0.5f - cx, dy = (float)y + 0.5f - cy;
      float sx = aug_mul(cs, dx) + aug_mul(sn, dy) + cx - 0.5f;
      float sy = aug_mul(-sn, dx) + aug_mul(cs, dy) + cy - 0.5f;
      sx = fminf(fmaxf(sx, 0.f), (float)(w - 1));
      sy = fminf(fmaxf(sy, 0.f), (float)(h - 1));
      int x0 = (int)sx, y0 = (int)sy;
      int x1 = x0 + 1 < w ? x0 + 1 : w - 1, y1 = y0 + 1 < h ? y0 + 1 : h - 1;
      float fx = sx - (float)x0, fy = sy - (float)y0;
      for (int ch = 0; ch < c; ch++) {
        const float* p = a + ch * n;
        float t = aug_lerp(p[y0 * w + x0], p[y0 * w + x1], fx);
        float u = aug_lerp(p[y1 * w + x0], p[y1 * w + x1], fx);
        b[ch * n + yx] = aug_lerp(t, u, fy);
      }
    }
    __syncthreads();
    float* s = a; a = b; b = s;
  }

  if (flags & AUG_F_FLIP) {
    for (int e = tid; e < size; e += nt) {
      int x = e % w;
      b[e] = a[e - x + (w - 1 - x)];
    }
    __syncthreads();
    float* s = a; a = b; b = s;
  }

  for (int k = 0; k < ri[AUG_NJIT]; k++) {
    const int op = ri[AUG_ORDER + k];
    const float f = rf[AUG_FB + op];
    if (op == 0) {  // brightness: blend with black
      for (int e = tid; e < size; e += nt) a[e] = aug_clamp01(aug_mul(f, a[e]));
    } else if (op == 1) {  // contrast: blend with the mean gray value
      double sum = 0;
      if (c == 3) {
        for (int i = tid; i < n; i += nt) sum += (double)aug_luma(a[i], a[n + i], a[2 * n + i]);
      } else {
        for (int i = tid; i < n; i += nt) sum += (double)a[i];
      }
      red[tid] = sum;
      __syncthreads();
      for (int half = AUG_THREADS / 2; half > 0; half /= 2) {  // fixed tree: deterministic
        if (tid < half) red[tid] += red[tid + half];
        __syncthreads();
      }
      const float m = aug_mul(1.f - f, (float)(red[0] / (double)n));
      for (int e = tid; e < size; e += nt) a[e] = aug_clamp01(aug_mul(f, a[e]) + m);
    } else if (op == 2 && c == 3) {  // saturation: blend with the pixel's gray
      for (int i = tid; i < n; i += nt) {
        float m = aug_mul(1.f - f, aug_luma(a[i], a[n + i], a[2 * n + i]));
        a[i] = aug_clamp01(aug_mul(f, a[i]) + m);
        a[n + i] = aug_clamp01(aug_mul(f, a[n + i]) + m);
        a[2 * n + i] = aug_clamp01(aug_mul(f, a[2 * n + i]) + m);
      }
    } else if (op == 3 && c == 3) {
      for (int i = tid; i < n; i += nt) aug_hue(&a[i], &a[n + i], &a[2 * n + i], f);
    }
    __syncthreads();
  }

  if ((flags & AUG_F_GRAY) && c == 3) {
    for (int i = tid; i < n; i += nt) {
      float y = aug_luma(a[i], a[n + i], a[2 * n + i]);
      a[i] = y;
      a[n + i] = y;
      a[2 * n + i] = y;
    }
    __syncthreads();
  }

  if (ri[AUG_BLUR] > 0) {  // separable, rows into b then columns back into a
    const int K = ri[AUG_BLUR], r = K / 2;
    const float* k = rf + AUG_TAPS;
    for (int e = tid; e < size; e += nt) {
      int x = e % w;
      const float* row = a + (e - x);
      float acc = 0.f;
      for (int j = 0; j < K; j++) acc += aug_mul(k[j], row[aug_mirror(x - r + j, w)]);
      b[e] = acc;
    }
    __syncthreads();
    for (int e = tid; e < size; e += nt) {
      int ch = e / n, yx = e - ch * n, y = yx / w, x = yx - y * w;
      const float* col = b + ch * n + x;
      float acc = 0.f;
      for (int j = 0; j < K; j++) acc += aug_mul(k[j], col[aug_mirror(y - r + j, h) * w]);
      a[e] = acc;
    }
    __syncthreads();
  }

  if (flags & AUG_F_SOLARIZE) {
    const float t = rf[AUG_THRESH];
    for (int e = tid; e < size; e += nt)
      if (a[e] >= t) a[e] = 1.f - a[e];
    __syncthreads();
  }

  if (flags & AUG_F_NOISE) {  // Box–Muller: pixel pair k takes draw k+2 of the stream
    const unsigned long long key =
        ((unsigned long long)(unsigned)ri[AUG_KEYHI] << 32) | (unsigned long long)(unsigned)ri[AUG_KEYLO];
    const float std = rf[AUG_NSTD];
    for (int k = tid; 2 * k < size; k += nt) {
      unsigned long long u = aug_mix64(key + (unsigned long long)(k + 2) * 0x9e3779b97f4a7c15ULL);
      double u1 = ((double)(u >> 32) + 0.5) * 0x1p-32;  // in (0,1): log is finite
      double u2 = (double)(unsigned)u * 0x1p-32;
      double rad = sqrt(-2.0 * log(u1));
      double ang = 6.283185307179586 * u2;
      a[2 * k] += aug_mul(std, (float)(rad * cos(ang)));
      if (2 * k + 1 < size) a[2 * k + 1] += aug_mul(std, (float)(rad * sin(ang)));
    }
    __syncthreads();
  }

  // Clamp (noise can leave [0,1]) and normalise per channel.
  for (int e = tid; e < size; e += nt) {
    int ch = e / n;
    float m = ch == 0 ? m0 : (ch == 1 ? m1 : m2), s = ch == 0 ? s0 : (ch == 1 ? s1 : s2);
    out[e] = (aug_clamp01(a[e]) - m) / s;
  }
}

// augment_views writes one view per record: record i (stride words at
// rec + i*stride, read as ints and as floats through ri and rf, the same
// buffer) becomes the c*h*w image dst + i*c*h*w. One block of AUG_THREADS per
// image, c*h*w <= AUG_SMEM.
extern "C" __global__ void augment_views(const unsigned char* pix, const int* ri, const float* rf, int stride,
                                         float* dst, float* tmp, int c, int sh, int sw, int h, int w, float m0,
                                         float m1, float m2, float s0, float s1, float s2) {
  __shared__ float sa[AUG_SMEM];
  __shared__ float sb[AUG_SMEM];
  __shared__ double red[AUG_THREADS];
  const long long i = blockIdx.x, size = (long long)c * h * w;
  aug_pipeline(pix, ri + i * stride, rf + i * stride, dst + i * size, sa, sb, red, c, sh, sw, h, w, m0, m1, m2,
               s0, s1, s2);
}

// augment_views_global is augment_views for images larger than AUG_SMEM: it
// works in dst and in tmp (as large as dst) instead of shared memory.
extern "C" __global__ void augment_views_global(const unsigned char* pix, const int* ri, const float* rf,
                                                int stride, float* dst, float* tmp, int c, int sh, int sw, int h,
                                                int w, float m0, float m1, float m2, float s0, float s1,
                                                float s2) {
  __shared__ double red[AUG_THREADS];
  const long long i = blockIdx.x, size = (long long)c * h * w;
  aug_pipeline(pix, ri + i * stride, rf + i * stride, dst + i * size, dst + i * size, tmp + i * size, red, c,
               sh, sw, h, w, m0, m1, m2, s0, s1, s2);
}
