// The emulator's own test kernels (emu_test.go, testdata/race.cc), compiled
// after byol.cu and listed in kernels_gen.h like the real ones.

// Elementwise: y = a·x + y.
extern "C" __global__ void emu_test_axpy(float* y, const float* x, float a, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

// One sum per block by a shared-memory tree; blockDim.x is a power of two.
extern "C" __global__ void emu_test_block_sum(const float* x, float* out, int n) {
  __shared__ float s[1024];
  unsigned t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
  s[t] = i < unsigned(n) ? x[i] : 0.0f;
  __syncthreads();
  for (unsigned h = blockDim.x / 2; h > 0; h /= 2) {
    if (t < h) s[t] += s[t + h];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = s[0];
}

// The same without the barrier after the loads: thread t reads s[t+h]
// before thread t+h has written it. Threads run in order between barriers
// here, so the sums come out wrong; ThreadSanitizer reports the race.
extern "C" __global__ void emu_test_block_sum_racy(const float* x, float* out, int n) {
  __shared__ float s[1024];
  unsigned t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
  s[t] = i < unsigned(n) ? x[i] : 0.0f;
  for (unsigned h = blockDim.x / 2; h > 0; h /= 2) {
    if (t < h) s[t] += s[t + h];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = s[0];
}

// Warp shuffles, per warp of x: the total by shfl_down (right in lane 0), by
// shfl_xor (in every lane), an inclusive prefix sum by shfl_up, lane 0's
// value by shfl_sync, sums over segments of 8 lanes, and a 64-bit shuffle.
extern "C" __global__ void emu_test_warp(const float* x, float* down, float* xsum, float* scan, float* bcast,
                                         float* seg8, long long* wide, int n) {
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x, lane = threadIdx.x % 32;
  float v = i < unsigned(n) ? x[i] : 0.0f;
  float d = v, s = v, p = v, g = v;
  for (int o = 16; o > 0; o /= 2) d += __shfl_down_sync(0xffffffffu, d, o);
  for (int o = 16; o > 0; o /= 2) s += __shfl_xor_sync(0xffffffffu, s, o);
  for (unsigned o = 1; o < 32; o *= 2) {
    float u = __shfl_up_sync(0xffffffffu, p, o);
    if (lane >= o) p += u;
  }
  float b = __shfl_sync(0xffffffffu, v, 0);
  for (int o = 4; o > 0; o /= 2) g += __shfl_xor_sync(0xffffffffu, g, o, 8);
  long long w = __shfl_down_sync(0xffffffffu, (long long)i << 33, 1);
  if (i < unsigned(n)) down[i] = d, xsum[i] = s, scan[i] = p, bcast[i] = b, seg8[i] = g, wide[i] = w;
}

// Atomics from every block at once: a histogram, a 64-bit total and a
// float count.
extern "C" __global__ void emu_test_atomics(const int* x, int n, int* hist, int bins,
                                            unsigned long long* total, float* count) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  atomicAdd(&hist[x[i] % bins], 1);
  atomicAdd(total, (unsigned long long)x[i]);
  atomicAdd(count, 1.0f);
}

// c = a·b (m×k by k×n, row-major) in 16×16 tiles: a 2-D grid of 2-D blocks
// with barriers in a loop.
extern "C" __global__ void emu_test_sgemm(const float* a, const float* b, float* c, int m, int n, int k) {
  __shared__ float as[16][16], bs[16][16];
  int tx = threadIdx.x, ty = threadIdx.y;
  int row = blockIdx.y * 16 + ty, col = blockIdx.x * 16 + tx;
  float acc = 0;
  for (int k0 = 0; k0 < k; k0 += 16) {
    as[ty][tx] = row < m && k0 + tx < k ? a[row * k + k0 + tx] : 0.0f;
    bs[ty][tx] = k0 + ty < k && col < n ? b[(k0 + ty) * n + col] : 0.0f;
    __syncthreads();
#pragma unroll
    for (int j = 0; j < 16; j++) acc += as[ty][j] * bs[j][tx];
    __syncthreads();
  }
  if (row < m && col < n) c[row * n + col] = acc;
}

// Every index of every thread of a 3-D grid of 3-D blocks.
extern "C" __global__ void emu_test_index(int* out) {
  unsigned block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  unsigned thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  int* o = out + 6 * (block * blockDim.x * blockDim.y * blockDim.z + thread);
  o[0] = threadIdx.x, o[1] = threadIdx.y, o[2] = threadIdx.z;
  o[3] = blockIdx.x, o[4] = blockIdx.y, o[5] = blockIdx.z;
}

// Votes: per thread, its warp's ballot, any and all, and its block's count,
// or and and of p = x[i] != 0.
extern "C" __global__ void emu_test_vote(const int* x, int* out) {
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  int p = x[i] != 0;
  int* o = out + 6 * i;
  o[0] = int(__ballot_sync(0xffffffffu, p));
  o[1] = __any_sync(0xffffffffu, p);
  o[2] = __all_sync(0xffffffffu, p);
  o[3] = __syncthreads_count(p);
  o[4] = __syncthreads_or(p);
  o[5] = __syncthreads_and(p);
}

// Threads at or past n return before a barrier that the others then pass.
extern "C" __global__ void emu_test_exit(float* out, int n) {
  __shared__ float s[1024];
  unsigned t = threadIdx.x;
  if (t >= unsigned(n)) return;
  s[t] = float(t);
  __syncthreads();
  out[blockIdx.x * n + t] = s[n - 1 - t];
}

// Arguments of every kind, as the Go side passes them.
extern "C" __global__ void emu_test_args(long long* out, int i, float f, long long l, unsigned long long u) {
  out[0] = i, out[1] = __float_as_int(f), out[2] = l, out[3] = (long long)u;
}

// Errors the emulator must report rather than hang or crash on.
extern "C" __global__ void emu_test_deadlock(float* out) {
  if (threadIdx.x < 16) __syncthreads();
  else out[threadIdx.x] = __shfl_down_sync(0xffffffffu, 1.0f, 1);
}

extern "C" __global__ void emu_test_trap(int* out) {
  if (blockIdx.x == 1 && threadIdx.x == 3) __trap();
  out[blockIdx.x * blockDim.x + threadIdx.x] = 1;
}

extern "C" __global__ void emu_test_overrun(float* y, int n) { y[n + threadIdx.x] = 1; }
