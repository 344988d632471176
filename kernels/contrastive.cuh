// contrastive.cuh — SimCLR's NT-Xent (InfoNCE) loss, the pieces around the
// two GEMMs that core/backend/cuda/contrastive.go runs:
//
//   u = normalise(z)            ops_l2_normalize
//   S = u·uᵀ / T                GEMM
//   G = softmax'(S), terms      nce_softmax (in place, one block per row)
//   dU = G·u + Gᵀ·u             two GEMMs, written into dz
//   dz ← back through normalise nce_grad (one warp per row)
//   loss = scale·Σ terms        nce_loss_sum (one block)
//
// Every reduction has a fixed order, so the loss and dz replay bit for bit.

// The lowest float, spelt out: nvcc does not include <cfloat> by itself.
#define NCE_LOWEST (-3.402823466e+38f)

// nce_block_max returns the maximum of v over a 1-D block of OPS_THREADS to
// every thread; red is a shared array of OPS_WARPS.
__device__ __forceinline__ float nce_block_max(float v, float* red) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // red may still be read by an earlier call
  if (lane == 0) red[warp] = v;
  __syncthreads();
  v = lane < OPS_WARPS ? red[lane] : NCE_LOWEST;
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// nce_softmax turns row i of the logits s (rows×rows, s_ik = u_i·u_k/T) into
// ∂ℓ_i/∂s_ik · (1/T) = (softmax_{k≠i}(s_i)_k − [k = pos])/T, with 0 on the
// diagonal, and writes ℓ_i = log Σ_{k≠i} exp(s_ik) − s_i,pos to terms[i].
// The row's largest logit is subtracted before exp, as the CPU backend does.
extern "C" __global__ void nce_softmax(float* s, float* terms, int rows, int shift, float invT) {
  __shared__ float red[2 * OPS_WARPS];
  int i = blockIdx.x;
  float* row = s + (size_t)i * rows;
  int pos = (int)(((long long)i + shift) % rows);
  float spos = row[pos];  // read before any thread overwrites the row
  float top = NCE_LOWEST;
  for (int k = threadIdx.x; k < rows; k += OPS_THREADS)
    if (k != i) top = fmaxf(top, row[k]);
  top = nce_block_max(top, red);
  float sum = 0.f, unused = 0.f;
  for (int k = threadIdx.x; k < rows; k += OPS_THREADS)
    if (k != i) sum += expf(row[k] - top);
  ops_block_sum2(sum, unused, red);  // its barriers also order spos's read
  float c = invT / sum;
  for (int k = threadIdx.x; k < rows; k += OPS_THREADS) {
    float g = k == i ? 0.f : expf(row[k] - top) * c;
    row[k] = k == pos ? g - invT : g;
  }
  if (threadIdx.x == 0) terms[i] = logf(sum) - (spos - top);
}

// nce_grad takes dz holding ∂L/∂u and writes, in place, the gradient with
// respect to z: scale·(du − (du·u)·u)/max(‖z‖, eps). One warp per row; the
// warp's sums are complete before any lane overwrites its elements.
extern "C" __global__ void nce_grad(const float* z, const float* u, float* dz, int rows, int d, float scale) {
  int lane = threadIdx.x & 31;
  int r = blockIdx.x * OPS_WARPS + (threadIdx.x >> 5);
  if (r >= rows) return;  // whole warps leave together
  const float* zr = z + (size_t)r * d;
  const float* ur = u + (size_t)r * d;
  float* gr = dz + (size_t)r * d;
  float zz = 0.f, gu = 0.f;
  for (int k = lane; k < d; k += 32) {
    zz += zr[k] * zr[k];
    gu += gr[k] * ur[k];
  }
  zz = ops_warp_sum(zz);
  gu = ops_warp_sum(gu);
  float c = scale / fmaxf(sqrtf(zz), OPS_NORM_EPS);
  for (int k = lane; k < d; k += 32) gr[k] = c * (gr[k] - gu * ur[k]);
}

// nce_loss_sum writes scale·Σ terms to loss[0], adding in a fixed order.
extern "C" __global__ void nce_loss_sum(const float* terms, float* loss, int rows, float scale) {
  __shared__ float red[2 * OPS_WARPS];
  float s = 0.f, unused = 0.f;
  for (int k = threadIdx.x; k < rows; k += OPS_THREADS) s += terms[k];
  ops_block_sum2(s, unused, red);
  if (threadIdx.x == 0) loss[0] = s * scale;
}
