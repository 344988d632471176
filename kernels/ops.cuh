// ops.cuh — every non-GEMM, non-convolution op of a BYOL step: fill,
// elementwise ops, bias, pooling, BatchNorm, ℓ2-normalise and the BYOL loss,
// EMA, the fused optimisers and the sum of squares.
//
// All kernels run 256-thread blocks (2-D 8×32 for the column sums). Every
// reduction has a fixed shape that depends only on the problem size, so a
// run replays bit for bit; none uses float atomics. An op that needs a
// global reduction is either one launch whose last block (found with an
// integer ticket) adds the blocks' partials in order (the BYOL loss), or two:
// per-chunk partial sums, then a pass in which every block adds the partials
// it needs in a fixed order (large BatchNorms, LARS).

#define OPS_THREADS 256
#define OPS_WARPS (OPS_THREADS / 32)
// BatchNorm chunks: each thread keeps 16 values in registers, so a block's
// 4096 values are read from memory once for both mean and variance.
#define BN_PER_THREAD 16
#define BN_CHUNK (OPS_THREADS * BN_PER_THREAD)

// Optimiser segment flags (core/backend/cuda/optim.go writes the table).
#define SEG_DECAY 1
#define SEG_ADAPT 2

// ---------------------------------------------------------------------------
// Helpers

// A butterfly leaves the same total in every lane (a+b == b+a in IEEE), so
// every lane may use the result.
__device__ __forceinline__ float ops_warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// ops_block_sum2 sums a and b over a 1-D block of OPS_THREADS and returns
// both totals to every thread; red is a shared array of 2·OPS_WARPS.
__device__ __forceinline__ void ops_block_sum2(float& a, float& b, float* red) {
  a = ops_warp_sum(a);
  b = ops_warp_sum(b);
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // red may still be read by an earlier call
  if (lane == 0) {
    red[warp] = a;
    red[OPS_WARPS + warp] = b;
  }
  __syncthreads();
  a = lane < OPS_WARPS ? red[lane] : 0.f;
  b = lane < OPS_WARPS ? red[OPS_WARPS + lane] : 0.f;
  a = ops_warp_sum(a);
  b = ops_warp_sum(b);
}

// Type punning through a union: both nvcc and g++ define it, and it needs no
// CUDA intrinsics (the emulator has none).
__device__ __forceinline__ float ops_int_as_float(int v) {
  union {
    int i;
    float f;
  } u;
  u.i = v;
  return u.f;
}

__device__ __forceinline__ double ops_bits_as_double(unsigned long long v) {
  union {
    unsigned long long u;
    double d;
  } u;
  u.u = v;
  return u.d;
}

// ops_map runs a grid-stride loop with four independent loads in flight per
// thread before any store (outputs may alias inputs, so the compiler could
// not reorder them itself): val(i) computes element i, put(i, v) stores it.
template <class Val, class Put>
__device__ __forceinline__ void ops_map(int n, Val val, Put put) {
  int stride = gridDim.x * blockDim.x;
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  for (; i + 3 * stride < n; i += 4 * stride) {
    float a = val(i), b = val(i + stride), c = val(i + 2 * stride), d = val(i + 3 * stride);
    put(i, a);
    put(i + stride, b);
    put(i + 2 * stride, c);
    put(i + 3 * stride, d);
  }
  for (; i < n; i += stride) put(i, val(i));
}

// ---------------------------------------------------------------------------
// Fill and elementwise ops

extern "C" __global__ void ops_fill(float* p, int n, float v) {
  int stride = gridDim.x * blockDim.x;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) p[i] = v;
}

// NaN passes through, as Go's max(v, 0) does on the CPU (fmaxf would drop it
// and hide a diverged run from SumSquares).
extern "C" __global__ void ops_relu(const float* x, float* y, int n) {
  ops_map(n, [&](int i) { float v = x[i]; return v <= 0.f ? 0.f : v; },
          [&](int i, float v) { y[i] = v; });
}

extern "C" __global__ void ops_relu_backward(const float* y, const float* dy, float* dx, int n) {
  ops_map(n, [&](int i) { return y[i] > 0.f ? dy[i] : 0.f; }, [&](int i, float v) { dx[i] = v; });
}

extern "C" __global__ void ops_add(float* y, const float* a, const float* b, int n) {
  ops_map(n, [&](int i) { return a[i] + b[i]; }, [&](int i, float v) { y[i] = v; });
}

// omt = 1−tau, rounded on the host exactly as the CPU backend rounds it.
extern "C" __global__ void ops_ema(float* t, const float* o, int n, float tau, float omt) {
  ops_map(n, [&](int i) { return tau * t[i] + omt * o[i]; }, [&](int i, float v) { t[i] = v; });
}

// ops_add_bias adds bias[j] to y[i, j]. Instead of a modulo per element,
// each thread carries its column along: ops_map calls val for i, i+stride, …
// in order, so stepping j by stride mod cols keeps it in sync.
extern "C" __global__ void ops_add_bias(float* y, const float* bias, int rows, int cols) {
  int i0 = blockIdx.x * blockDim.x + threadIdx.x;
  int sr = (gridDim.x * blockDim.x) % cols, j = i0 % cols;
  ops_map(
      rows * cols,
      [&](int i) {
        float v = y[i] + bias[j];
        j += sr;
        if (j >= cols) j -= cols;
        return v;
      },
      [&](int i, float v) { y[i] = v; });
}

// ops_bias_grad sums the columns of dy (rows×cols) into db. A block of 8×32
// threads takes 8 columns; a warp reads 8 adjacent floats from each of 4 rows
// (one 32-byte sector each), and the 32 row-lanes are summed by a fixed tree.
extern "C" __global__ void ops_bias_grad(float* db, const float* dy, int rows, int cols) {
  __shared__ float red[32][9];
  int tx = threadIdx.x, ty = threadIdx.y;
  int j = blockIdx.x * 8 + tx;
  float s = 0.f;
  if (j < cols) {
#pragma unroll 4
    for (int i = ty; i < rows; i += 32) s += dy[(size_t)i * cols + j];
  }
  red[ty][tx] = s;
  __syncthreads();
  for (int h = 16; h > 0; h >>= 1) {
    if (ty < h) red[ty][tx] += red[ty + h][tx];
    __syncthreads();
  }
  if (ty == 0 && j < cols) db[j] = red[0][tx];
}

// ---------------------------------------------------------------------------
// Global average pooling of N×C planes of S values.

// ops_gap: one warp per plane, for planes of more than 32 values.
extern "C" __global__ void ops_gap(const float* x, float* y, int planes, int s, float inv) {
  int lane = threadIdx.x & 31;
  for (int p = blockIdx.x * OPS_WARPS + (threadIdx.x >> 5); p < planes; p += gridDim.x * OPS_WARPS) {
    const float* src = x + (size_t)p * s;
    float sum = 0.f;
#pragma unroll 4
    for (int k = lane; k < s; k += 32) sum += src[k];
    sum = ops_warp_sum(sum);
    if (lane == 0) y[p] = sum * inv;
  }
}

// ops_gap_small: one thread per plane of at most 32 values (a warp per
// plane would idle lanes); a warp still reads 32·S contiguous floats. The
// sum runs in the CPU's order, so the result is bit-identical.
extern "C" __global__ void ops_gap_small(const float* x, float* y, int planes, int s, float inv) {
  int stride = gridDim.x * blockDim.x;
  for (int p = blockIdx.x * blockDim.x + threadIdx.x; p < planes; p += stride) {
    const float* src = x + (size_t)p * s;
    float sum = 0.f;
#pragma unroll 8
    for (int k = 0; k < s; k++) sum += src[k];
    y[p] = sum * inv;
  }
}

// ops_gap_backward broadcasts dy/S over each plane: elementwise over dx, the
// plane index carried along the grid-stride loop (stride = q·S + r).
extern "C" __global__ void ops_gap_backward(const float* dy, float* dx, int planes, int s, float inv) {
  int i0 = blockIdx.x * blockDim.x + threadIdx.x, stride = gridDim.x * blockDim.x;
  int p = i0 / s, o = i0 % s, q = stride / s, r = stride % s;
  ops_map(
      planes * s,
      [&](int) {
        float v = dy[p] * inv;
        p += q;
        o += r;
        if (o >= s) {
          o -= s;
          p++;
        }
        return v;
      },
      [&](int i, float v) { dx[i] = v; });
}

// ---------------------------------------------------------------------------
// ℓ2 normalisation and the BYOL loss: one warp per row.

// normEps matches torch.nn.functional.normalize (and the CPU backend).
#define OPS_NORM_EPS 1e-12f

extern "C" __global__ void ops_l2_normalize(const float* x, float* y, int rows, int d) {
  int lane = threadIdx.x & 31;
  int r = blockIdx.x * OPS_WARPS + (threadIdx.x >> 5);
  if (r < rows) {
    const float* src = x + (size_t)r * d;
    float ss = 0.f;
    for (int k = lane; k < d; k += 32) ss += src[k] * src[k];
    ss = ops_warp_sum(ss);
    float inv = 1.f / fmaxf(sqrtf(ss), OPS_NORM_EPS);
    float* dst = y + (size_t)r * d;
    for (int k = lane; k < d; k += 32) dst[k] = src[k] * inv;
  }
}

// ops_byol_loss writes dp (one warp per row) and each block's share of the
// loss, Σ(2 − 2cos), into part; the last block to finish (an integer ticket,
// reset for the next call) adds the shares in block order into loss[0], so
// the loss is one launch and still deterministic.
extern "C" __global__ void ops_byol_loss(const float* p, const float* z, float* dp, float* part, unsigned* ticket,
                                         float* loss, int rows, int d, int shift, float scale) {
  __shared__ float terms[OPS_WARPS];
  __shared__ float red[2 * OPS_WARPS];
  __shared__ int last;
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  int i = blockIdx.x * OPS_WARPS + warp;
  float term = 0.f;
  if (i < rows) {
    int j = (int)(((long long)i + shift) % rows);
    const float* pi = p + (size_t)i * d;
    const float* zj = z + (size_t)j * d;
    float pp = 0.f, zz = 0.f, pz = 0.f;
    for (int k = lane; k < d; k += 32) {
      float a = pi[k], b = zj[k];
      pp += a * a;
      zz += b * b;
      pz += a * b;
    }
    pp = ops_warp_sum(pp);
    zz = ops_warp_sum(zz);
    pz = ops_warp_sum(pz);
    float np = fmaxf(sqrtf(pp), OPS_NORM_EPS), nz = fmaxf(sqrtf(zz), OPS_NORM_EPS);
    float cosv = pz / (np * nz);
    term = 2.f - 2.f * cosv;
    // d(2−2cos)/dp = −2·(z/(‖p‖‖z‖) − cos·p/‖p‖²)
    float ca = -2.f * scale / (np * nz);
    float cb = 2.f * scale * cosv / (np * np);
    float* gi = dp + (size_t)i * d;
    for (int k = lane; k < d; k += 32) gi[k] = ca * zj[k] + cb * pi[k];
  }
  if (lane == 0) terms[warp] = term;
  __syncthreads();
  if (threadIdx.x == 0) {
    float s = 0.f;
    for (int w = 0; w < OPS_WARPS; w++) s += terms[w];
    part[blockIdx.x] = s;
    __threadfence();  // the share is visible before the ticket is taken
    last = atomicAdd(ticket, 1u) == gridDim.x - 1;
    __threadfence();
  }
  __syncthreads();
  if (!last) return;  // uniform per block
  const volatile float* vp = part;  // written by other blocks: bypass L1
  float s = 0.f, unused = 0.f;
  for (int k = threadIdx.x; k < (int)gridDim.x; k += OPS_THREADS) s += vp[k];
  ops_block_sum2(s, unused, red);
  if (threadIdx.x == 0) {
    loss[0] = s * scale;
    *ticket = 0;
  }
}

// ---------------------------------------------------------------------------
// Sum of squares: one partial per block; the host adds them in order.

extern "C" __global__ void ops_sum_squares(const float* x, int n, float* part) {
  __shared__ float red[2 * OPS_WARPS];
  int stride = gridDim.x * OPS_THREADS;
  int i = blockIdx.x * OPS_THREADS + threadIdx.x;
  float s0 = 0.f, s1 = 0.f;
  for (; i + stride < n; i += 2 * stride) {
    float a = x[i], b = x[i + stride];
    s0 += a * a;
    s1 += b * b;
  }
  if (i < n) s0 += x[i] * x[i];
  ops_block_sum2(s0, s1, red);
  if (threadIdx.x == 0) part[blockIdx.x] = s0 + s1;
}

// ---------------------------------------------------------------------------
// BatchNorm over x = N×C×S. A (group, channel) pair owns m = ng·S values: ng
// planes of S contiguous floats, C·S apart. They are split into K chunks of
// at most BN_CHUNK values, and a block's thread t takes values e0+t,
// e0+t+256, … of its chunk, 16 at most, held in registers. Walking (plane,
// offset) incrementally avoids a division per element and works for any S
// (S = 1 is BatchNorm1d).
//
// K = 1 (m ≤ 4096: BatchNorm1d, small late layers) is one launch: block c
// does every group of channel c. K > 1 is two: chunk partial sums into
// part, then a K×pairs grid in which every block merges its pair's
// partials in a fixed order and writes its chunk.

struct BNWalk {
  int n, s;     // plane within the group, offset within the plane
  int q, r, S;  // OPS_THREADS = q·S + r
  __device__ __forceinline__ BNWalk(long long e, int S_) : S(S_) {
    n = (int)(e / S_);
    s = (int)(e % S_);
    q = OPS_THREADS / S_;
    r = OPS_THREADS % S_;
  }
  __device__ __forceinline__ void next() {
    n += q;
    s += r;
    if (s >= S) {
      s -= S;
      n++;
    }
  }
};

// bn_chunk returns chunk k's range; every kernel derives it the same way.
__device__ __forceinline__ void bn_chunk(long long m, int k, int K, long long& e0, long long& e1) {
  e0 = m * k / K;
  e1 = m * (k + 1) / K;
}

// bn_base is the offset of the first value of (group g, channel c).
__device__ __forceinline__ size_t bn_base(int g, int c, int ng, int C, int S) {
  return ((size_t)g * ng * C + c) * S;
}

// bn_offsets fills off with the offsets (from bn_base) of this thread's
// values of chunk k and returns the chunk's length; value j is valid when
// threadIdx.x + 256·j < length. 32-bit offsets keep register use down.
__device__ __forceinline__ int bn_offsets(int ng, int C, int S, int k, int K, int* off) {
  long long e0, e1;
  bn_chunk((long long)ng * S, k, K, e0, e1);
  int cs = C * S;
  BNWalk w(e0 + threadIdx.x, S);
#pragma unroll
  for (int j = 0; j < BN_PER_THREAD; j++) {
    off[j] = w.n * cs + w.s;
    w.next();
  }
  return (int)(e1 - e0);
}

__device__ __forceinline__ bool bn_valid(int j, int cnt) { return threadIdx.x + j * OPS_THREADS < cnt; }

// bn_chunk_stats returns the block-wide sum and Σ(v − sum/cnt)² of the
// valid values; invalid ones must be 0.
__device__ __forceinline__ void bn_chunk_stats(const float* v, int cnt, float* red, float& sum, float& q) {
  sum = 0.f;
#pragma unroll
  for (int j = 0; j < BN_PER_THREAD; j++) sum += v[j];
  float unused = 0.f;
  ops_block_sum2(sum, unused, red);
  float mean = sum / (float)cnt;
  q = 0.f;
#pragma unroll
  for (int j = 0; j < BN_PER_THREAD; j++) {
    float d = v[j] - mean;
    if (bn_valid(j, cnt)) q += d * d;
  }
  ops_block_sum2(q, unused, red);
}

// bn_inv is 1/√(var + eps), formed in double as the CPU does.
__device__ __forceinline__ float bn_inv(float var, float eps) {
  return (float)(1.0 / sqrt((double)var + (double)eps));
}

// bn_running updates one channel's running statistics with one group's
// (mean, M2), with the unbiased variance (biased when m = 1, as the CPU).
__device__ __forceinline__ void bn_running(float& rm, float& rv, float mean, float m2, long long m, float momentum) {
  float unbiased = m > 1 ? m2 / (float)(m - 1) : m2 / (float)m;
  rm = (1.f - momentum) * rm + momentum * mean;
  rv = (1.f - momentum) * rv + momentum * unbiased;
}

// bn_train_small: K = 1, one block per channel, groups in order.
extern "C" __global__ void bn_train_small(const float* x, float* y, const float* gamma, const float* beta,
                                          float* saveMean, float* saveInvStd, float* runMean, float* runVar, int ng,
                                          int C, int S, int G, float momentum, float eps) {
  __shared__ float red[2 * OPS_WARPS];
  int c = blockIdx.x;
  long long m = (long long)ng * S;
  int off[BN_PER_THREAD];
  int cnt = bn_offsets(ng, C, S, 0, 1, off);
  float rm = runMean[c], rv = runVar[c], gm = gamma[c], bt = beta[c];
#pragma unroll 1
  for (int g = 0; g < G; g++) {
    size_t base = bn_base(g, c, ng, C, S);
    const float* xg = x + base;
    float* yg = y + base;
    float v[BN_PER_THREAD];
#pragma unroll
    for (int j = 0; j < BN_PER_THREAD; j++) v[j] = bn_valid(j, cnt) ? xg[off[j]] : 0.f;
    float sum, m2;
    bn_chunk_stats(v, cnt, red, sum, m2);
    float mean = sum / (float)m, inv = bn_inv(m2 / (float)m, eps);
    float scale = inv * gm, shift = bt - mean * scale;
#pragma unroll
    for (int j = 0; j < BN_PER_THREAD; j++)
      if (bn_valid(j, cnt)) yg[off[j]] = v[j] * scale + shift;
    if (threadIdx.x == 0) {
      saveMean[g * C + c] = mean;
      saveInvStd[g * C + c] = inv;
    }
    bn_running(rm, rv, mean, m2, m, momentum);
  }
  if (threadIdx.x == 0) {
    runMean[c] = rm;
    runVar[c] = rv;
  }
}

// bn_stats writes each chunk's (sum, Σ(x − chunk mean)²) to part.
extern "C" __global__ void bn_stats(const float* x, float* part, int ng, int C, int S, int K) {
  __shared__ float red[2 * OPS_WARPS];
  int k = blockIdx.x, pair = blockIdx.y, g = pair / C, c = pair % C;
  const float* src = x + bn_base(g, c, ng, C, S);
  int off[BN_PER_THREAD];
  int cnt = bn_offsets(ng, C, S, k, K, off);
  float v[BN_PER_THREAD];
#pragma unroll
  for (int j = 0; j < BN_PER_THREAD; j++) v[j] = bn_valid(j, cnt) ? src[off[j]] : 0.f;
  float sum, q;
  bn_chunk_stats(v, cnt, red, sum, q);
  if (threadIdx.x == 0) {
    part[2 * ((size_t)pair * K + k)] = sum;
    part[2 * ((size_t)pair * K + k) + 1] = q;
  }
}

// bn_merge combines the K partial (sum, M2 about the chunk mean) of one pair
// with Chan's formula — as exact as a two-pass variance. Run by a whole warp;
// every lane gets the results.
__device__ __forceinline__ void bn_merge(const float* part, int pair, int K, long long m, float& mean,
                                         float& m2) {
  int lane = threadIdx.x & 31;
  const float* pp = part + 2 * (size_t)pair * K;
  float sum = 0.f;
  for (int k = lane; k < K; k += 32) sum += pp[2 * k];
  sum = ops_warp_sum(sum);
  mean = sum / (float)m;
  float q = 0.f;
  for (int k = lane; k < K; k += 32) {
    long long e0, e1;
    bn_chunk(m, k, K, e0, e1);
    float cnt = (float)(e1 - e0);
    float d = pp[2 * k] / cnt - mean;
    q += pp[2 * k + 1] + cnt * d * d;
  }
  m2 = ops_warp_sum(q);
}

// bn_apply writes y = x·scale + shift over chunk k of (g, c).
__device__ __forceinline__ void bn_apply(const float* x, float* y, int g, int c, int ng, int C, int S, int k, int K,
                                         float scale, float shift) {
  size_t base = bn_base(g, c, ng, C, S);
  x += base;
  y += base;
  int off[BN_PER_THREAD];
  int cnt = bn_offsets(ng, C, S, k, K, off);
  float v[BN_PER_THREAD];
#pragma unroll
  for (int j = 0; j < BN_PER_THREAD; j++)
    if (bn_valid(j, cnt)) v[j] = x[off[j]];
#pragma unroll
  for (int j = 0; j < BN_PER_THREAD; j++)
    if (bn_valid(j, cnt)) y[off[j]] = v[j] * scale + shift;
}

// bn_train_apply: warp 0 merges this pair's partials into scale and shift;
// chunk 0 saves mean and 1/std, and chunk 0 of group 0 (warp 1) updates the
// channel's running statistics once per group, in group order. Blocks take
// chunks in the reverse of bn_stats' order, so the first to run re-read what
// bn_stats read last, while it is still in L2.
extern "C" __global__ void bn_train_apply(const float* x, float* y, const float* gamma, const float* beta,
                                          float* saveMean, float* saveInvStd, float* runMean, float* runVar,
                                          const float* part, int ng, int C, int S, int G, int K, float momentum,
                                          float eps) {
  __shared__ float ss[2];
  int k = gridDim.x - 1 - blockIdx.x, pair = gridDim.y - 1 - blockIdx.y, g = pair / C, c = pair % C;
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  long long m = (long long)ng * S;
  if (warp == 0) {
    float mean, m2;
    bn_merge(part, pair, K, m, mean, m2);
    if (lane == 0) {
      float inv = bn_inv(m2 / (float)m, eps);
      float scale = inv * gamma[c];
      ss[0] = scale;
      ss[1] = beta[c] - mean * scale;
      if (k == 0) {
        saveMean[pair] = mean;
        saveInvStd[pair] = inv;
      }
    }
  } else if (warp == 1 && k == 0 && g == 0) {
    float rm = runMean[c], rv = runVar[c];
    for (int gg = 0; gg < G; gg++) {
      float mean, m2;
      bn_merge(part, gg * C + c, K, m, mean, m2);
      bn_running(rm, rv, mean, m2, m, momentum);
    }
    if (lane == 0) {
      runMean[c] = rm;
      runVar[c] = rv;
    }
  }
  __syncthreads();
  bn_apply(x, y, g, c, ng, C, S, k, K, ss[0], ss[1]);
}

// bn_eval: grid K×C over all N samples; the rounding follows the CPU's
// gamma / float32(sqrt(float64(var) + float64(eps))).
extern "C" __global__ void bn_eval(const float* x, float* y, const float* gamma, const float* beta,
                                   const float* runMean, const float* runVar, int N, int C, int S, int K, float eps) {
  __shared__ float ss[2];
  int k = blockIdx.x, c = blockIdx.y;
  if (threadIdx.x == 0) {
    float scale = gamma[c] / (float)sqrt((double)runVar[c] + (double)eps);
    ss[0] = scale;
    ss[1] = beta[c] - runMean[c] * scale;
  }
  __syncthreads();
  bn_apply(x, y, 0, c, N, C, S, k, K, ss[0], ss[1]);
}

// bn_backward_coef turns a pair's Σdy and Σdy·(x − mean) into the a, b, c
// of dx = a·dy − b − c·(x − mean), which is γ·inv/M·(M·dy − Σdy − x̂·Σdy·x̂)
// rearranged; formed in double.
__device__ __forceinline__ void bn_backward_coef(float gamma, float inv, float sdy, float sdxm, long long m,
                                                 float& a, float& b, float& c) {
  double gi = (double)gamma * inv, md = (double)m;
  a = (float)gi;
  b = (float)(gi * sdy / md);
  c = (float)(gi * inv * inv * sdxm / md);
}

// bn_backward_small: K = 1, one block per channel; dgamma and dbeta add the
// groups in order, as the CPU does.
extern "C" __global__ void __launch_bounds__(OPS_THREADS, 2) bn_backward_small(const float* x, const float* dy, const float* gamma,
                                             const float* saveMean, const float* saveInvStd, float* dx,
                                             float* dgamma, float* dbeta, int ng, int C, int S, int G) {
  __shared__ float red[2 * OPS_WARPS];
  int c = blockIdx.x;
  long long m = (long long)ng * S;
  int off[BN_PER_THREAD];
  int cnt = bn_offsets(ng, C, S, 0, 1, off);
  float gm = gamma[c], dg = 0.f, db = 0.f;
#pragma unroll 1
  for (int g = 0; g < G; g++) {
    size_t base = bn_base(g, c, ng, C, S);
    const float *xg = x + base, *dyg = dy + base;
    float* dxg = dx + base;
    float mean = saveMean[g * C + c], inv = saveInvStd[g * C + c];
    float vx[BN_PER_THREAD], vd[BN_PER_THREAD], sdy = 0.f, sdxm = 0.f;
#pragma unroll
    for (int j = 0; j < BN_PER_THREAD; j++) {
      vx[j] = 0.f;
      vd[j] = 0.f;
      if (bn_valid(j, cnt)) {
        vx[j] = xg[off[j]];
        vd[j] = dyg[off[j]];
      }
      sdy += vd[j];
      sdxm += vd[j] * (vx[j] - mean);
    }
    ops_block_sum2(sdy, sdxm, red);
    float a, b, cc;
    bn_backward_coef(gm, inv, sdy, sdxm, m, a, b, cc);
#pragma unroll
    for (int j = 0; j < BN_PER_THREAD; j++)
      if (bn_valid(j, cnt)) dxg[off[j]] = a * vd[j] - b - cc * (vx[j] - mean);
    dg += (float)((double)sdxm * inv);
    db += sdy;
  }
  if (threadIdx.x == 0) {
    dgamma[c] = dg;
    dbeta[c] = db;
  }
}

// bn_backward_stats writes each chunk's (Σdy, Σdy·(x − mean)) to part.
extern "C" __global__ void bn_backward_stats(const float* x, const float* dy, const float* saveMean, float* part,
                                             int ng, int C, int S, int K) {
  __shared__ float red[2 * OPS_WARPS];
  int k = blockIdx.x, pair = blockIdx.y, g = pair / C, c = pair % C;
  size_t base = bn_base(g, c, ng, C, S);
  x += base;
  dy += base;
  int off[BN_PER_THREAD];
  int cnt = bn_offsets(ng, C, S, k, K, off);
  float mean = saveMean[pair], sdy = 0.f, sdxm = 0.f;
#pragma unroll
  for (int j = 0; j < BN_PER_THREAD; j++) {
    if (bn_valid(j, cnt)) {
      float d = dy[off[j]];
      sdy += d;
      sdxm += d * (x[off[j]] - mean);
    }
  }
  ops_block_sum2(sdy, sdxm, red);
  if (threadIdx.x == 0) {
    part[2 * ((size_t)pair * K + k)] = sdy;
    part[2 * ((size_t)pair * K + k) + 1] = sdxm;
  }
}

// bn_sums adds one pair's K partials (warp-wide; every lane gets them).
__device__ __forceinline__ void bn_sums(const float* part, int pair, int K, float& a, float& b) {
  int lane = threadIdx.x & 31;
  const float* pp = part + 2 * (size_t)pair * K;
  a = 0.f;
  b = 0.f;
  for (int k = lane; k < K; k += 32) {
    a += pp[2 * k];
    b += pp[2 * k + 1];
  }
  a = ops_warp_sum(a);
  b = ops_warp_sum(b);
}

// bn_backward_apply: warp 0 turns this pair's partials into coefficients;
// chunk 0 of group 0 (warp 1) writes dgamma and dbeta, adding the groups in
// order. Chunks run in reverse order, as in bn_train_apply.
extern "C" __global__ void bn_backward_apply(const float* x, const float* dy, const float* gamma,
                                             const float* saveMean, const float* saveInvStd, float* dx,
                                             float* dgamma, float* dbeta, const float* part, int ng, int C, int S,
                                             int G, int K) {
  __shared__ float coef[4];
  int k = gridDim.x - 1 - blockIdx.x, pair = gridDim.y - 1 - blockIdx.y, g = pair / C, c = pair % C;
  int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  long long m = (long long)ng * S;
  if (warp == 0) {
    float sdy, sdxm;
    bn_sums(part, pair, K, sdy, sdxm);
    if (lane == 0) {
      bn_backward_coef(gamma[c], saveInvStd[pair], sdy, sdxm, m, coef[0], coef[1], coef[2]);
      coef[3] = saveMean[pair];
    }
  } else if (warp == 1 && k == 0 && g == 0) {
    float dg = 0.f, db = 0.f;
    for (int gg = 0; gg < G; gg++) {
      float sdy, sdxm;
      bn_sums(part, gg * C + c, K, sdy, sdxm);
      dg += (float)((double)sdxm * saveInvStd[gg * C + c]);
      db += sdy;
    }
    if (lane == 0) {
      dgamma[c] = dg;
      dbeta[c] = db;
    }
  }
  __syncthreads();
  float a = coef[0], b = coef[1], cc = coef[2], mean = coef[3];
  size_t base = bn_base(g, c, ng, C, S);
  x += base;
  dy += base;
  dx += base;
  int off[BN_PER_THREAD];
  int cnt = bn_offsets(ng, C, S, k, K, off);
  float vx[BN_PER_THREAD], vd[BN_PER_THREAD];
#pragma unroll
  for (int j = 0; j < BN_PER_THREAD; j++) {
    if (bn_valid(j, cnt)) {
      vx[j] = x[off[j]];
      vd[j] = dy[off[j]];
    }
  }
#pragma unroll
  for (int j = 0; j < BN_PER_THREAD; j++)
    if (bn_valid(j, cnt)) dx[off[j]] = a * vd[j] - b - cc * (vx[j] - mean);
}

// ---------------------------------------------------------------------------
// Optimisers over a flat parameter buffer. The segment table (int32 words,
// written by optim.go): per segment [LRScale bits, flags, first block,
// blocks], then per block [offset, length, segment]. One block updates one
// chunk of one segment; elements outside every segment are never touched.

struct OptBlock {
  int off, len, seg, flags, first, nblk;
  float lrScale;
  __device__ __forceinline__ OptBlock(const int* tab, int nseg) {
    const int* b = tab + 4 * nseg + 3 * blockIdx.x;
    off = b[0];
    len = b[1];
    seg = b[2];
    const int* s = tab + 4 * seg;
    lrScale = ops_int_as_float(s[0]);
    flags = s[1];
    first = s[2];
    nblk = s[3];
  }
};

// ops_adamw follows torch.optim.AdamW and the CPU backend's rounding: the
// per-segment step lr/bc1, 1/√bc2 and decay 1 − lr·wd are formed in double
// (bc1, bc2 arrive as double bits) and rounded to float once.
extern "C" __global__ void ops_adamw(float* p, const float* g, float* m, float* v, const int* tab, int nseg,
                                     float lr, float b1, float b2, float omb1, float omb2, float eps, float wd,
                                     unsigned long long bc1Bits, unsigned long long bc2Bits) {
  OptBlock ob(tab, nseg);
  float lrs = lr * ob.lrScale;
  float decay = (ob.flags & SEG_DECAY) ? (float)(1.0 - (double)lrs * (double)wd) : 1.f;
  float step = (float)((double)lrs / ops_bits_as_double(bc1Bits));
  float sq = (float)(1.0 / sqrt(ops_bits_as_double(bc2Bits)));
  int end = ob.off + ob.len;
#pragma unroll 4
  for (int i = ob.off + threadIdx.x; i < end; i += OPS_THREADS) {
    float gi = g[i];
    float mi = b1 * m[i] + omb1 * gi;
    float vi = b2 * v[i] + omb2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float denom = sqrtf(vi) * sq + eps;
    p[i] = p[i] * decay - step * mi / denom;
  }
}

// ops_sgd: buf ← μ·buf + g + wd·p, p ← p − lr·buf (torch.optim.SGD).
extern "C" __global__ void ops_sgd(float* p, const float* g, float* mom, const int* tab, int nseg, float lr,
                                   float mu, float wd) {
  OptBlock ob(tab, nseg);
  float lrs = lr * ob.lrScale;
  float w = (ob.flags & SEG_DECAY) ? wd : 0.f;
  int end = ob.off + ob.len;
#pragma unroll 4
  for (int i = ob.off + threadIdx.x; i < end; i += OPS_THREADS) {
    float pi = p[i];
    float b = mu * mom[i] + g[i] + w * pi;
    mom[i] = b;
    p[i] = pi - lrs * b;
  }
}

// ops_lars_norms writes each adapted block's (Σp², Σd²), d = g + wd·p.
extern "C" __global__ void ops_lars_norms(const float* p, const float* g, const int* tab, int nseg, float wd,
                                          float* part) {
  __shared__ float red[2 * OPS_WARPS];
  OptBlock ob(tab, nseg);
  if (!(ob.flags & SEG_ADAPT)) return;  // uniform per block
  float w = (ob.flags & SEG_DECAY) ? wd : 0.f;
  float pn = 0.f, dn = 0.f;
  int end = ob.off + ob.len;
#pragma unroll 4
  for (int i = ob.off + threadIdx.x; i < end; i += OPS_THREADS) {
    float pi = p[i], d = g[i] + w * pi;
    pn += pi * pi;
    dn += d * d;
  }
  ops_block_sum2(pn, dn, red);
  if (threadIdx.x == 0) {
    part[2 * blockIdx.x] = pn;
    part[2 * blockIdx.x + 1] = dn;
  }
}

// ops_lars_apply: each block of an adapted segment sums that segment's
// block partials in a fixed order, so all its blocks use the same trust
// ratio η‖p‖/‖d‖; then buf ← μ·buf + trust·d, p ← p − lr·buf.
extern "C" __global__ void ops_lars_apply(float* p, const float* g, float* mom, const int* tab, int nseg, float lr,
                                          float mu, float wd, float eta, const float* part) {
  __shared__ float trustS;
  OptBlock ob(tab, nseg);
  float w = (ob.flags & SEG_DECAY) ? wd : 0.f;
  if (threadIdx.x < 32) {
    float trust = 1.f;
    if (ob.flags & SEG_ADAPT) {
      float pn = 0.f, dn = 0.f;
      for (int b = threadIdx.x; b < ob.nblk; b += 32) {
        pn += part[2 * (ob.first + b)];
        dn += part[2 * (ob.first + b) + 1];
      }
      pn = ops_warp_sum(pn);
      dn = ops_warp_sum(dn);
      if (pn > 0.f && dn > 0.f) trust = (float)((double)eta * sqrt((double)pn) / sqrt((double)dn));
    }
    if (threadIdx.x == 0) trustS = trust;
  }
  __syncthreads();
  float trust = trustS, lrs = lr * ob.lrScale;
  int end = ob.off + ob.len;
#pragma unroll 4
  for (int i = ob.off + threadIdx.x; i < end; i += OPS_THREADS) {
    float pi = p[i];
    float b = mu * mom[i] + trust * (g[i] + w * pi);
    mom[i] = b;
    p[i] = pi - lrs * b;
  }
}
