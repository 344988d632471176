//go:build cudaemu

// cuda_cpu.h lets g++ (C++20) compile the CUDA sources in kernels/ for the
// emulator: CUDA's qualifiers are defined away, the built-in indices and
// intrinsics become plain C++, and barriers, shuffles and votes call the
// scheduler (sched.cc), which runs every CUDA thread of a block as a fiber.
//
// Kernels detect the emulator with BYOL_EMU. Inline PTX (mma.sync, cp.async,
// ...) cannot run here: guard the asm with `#ifndef BYOL_EMU` and give the
// emulator a plain C++ path, but keep every extern "C" kernel defined in
// both builds, since the emulator's table (kernels_gen.h) names them all.
// __CUDA_ARCH__ and __CUDACC__ are not defined. Do not include CUDA headers
// (nvcc includes cuda_runtime.h by itself).
//
// Limits: static __shared__ only (per OS thread, so per running block, and
// not cleared between blocks, like a GPU's); warp-level calls assume every
// lane of the warp that takes part uses the same mask; no __noinline__
// (libstdc++ spells its own attribute that way).
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cfloat>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <utility>

#include <math.h>

#include "hooks.h"

#define BYOL_EMU 1

#define __global__
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __grid_constant__
#define __forceinline__  // `inline` would clash with an explicit one; g++ inlines at -O2
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// A block's threads share thread_local storage: they are fibers of one OS
// thread, and one OS thread runs one block at a time.
#define __shared__ static thread_local

#define threadIdx (::emu::self().idx)
#define blockIdx (std::as_const(::emu::block_idx))
#define blockDim (std::as_const(::emu::block_dim))
#define gridDim (std::as_const(::emu::grid_dim))
constexpr int warpSize = 32;

// Vector types, with CUDA's sizes and alignments (float4 loads through
// reinterpret_cast need the 16).
#define EMU_VEC2(T, N, A)                                        \
  struct alignas(A) N##2 { T x, y; };                            \
  inline constexpr N##2 make_##N##2(T x, T y) { return {x, y}; }
#define EMU_VEC3(T, N)                                                   \
  struct N##3 { T x, y, z; };                                            \
  inline constexpr N##3 make_##N##3(T x, T y, T z) { return {x, y, z}; }
#define EMU_VEC4(T, N, A)                                                        \
  struct alignas(A) N##4 { T x, y, z, w; };                                      \
  inline constexpr N##4 make_##N##4(T x, T y, T z, T w) { return {x, y, z, w}; }
EMU_VEC2(float, float, 8)
EMU_VEC3(float, float)
EMU_VEC4(float, float, 16)
EMU_VEC2(double, double, 16)
EMU_VEC2(int, int, 8)
EMU_VEC3(int, int)
EMU_VEC4(int, int, 16)
EMU_VEC2(unsigned, uint, 8)
EMU_VEC4(unsigned, uint, 16)
EMU_VEC2(unsigned char, uchar, 2)
EMU_VEC4(unsigned char, uchar, 4)
EMU_VEC4(signed char, char, 4)
EMU_VEC2(short, short, 4)
EMU_VEC2(unsigned short, ushort, 4)
EMU_VEC2(long long, longlong, 16)
#undef EMU_VEC2
#undef EMU_VEC3
#undef EMU_VEC4
inline constexpr uint3 make_uint3(unsigned x, unsigned y, unsigned z) { return {x, y, z}; }

// Synchronisation.
inline void __syncthreads() { emu::syncthreads(); }
inline int __syncthreads_count(int p) { return emu::syncthreads_count(p); }
inline int __syncthreads_and(int p) { return emu::syncthreads_count(!p) == 0; }
inline int __syncthreads_or(int p) { return emu::syncthreads_count(p) != 0; }
inline void __syncwarp(unsigned mask = 0xffffffffu) { emu::syncwarp(mask); }
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_system() { std::atomic_thread_fence(std::memory_order_seq_cst); }
[[noreturn]] inline void __trap() { emu::trap("__trap()"); }
[[noreturn]] inline void __brkpt() { emu::trap("__brkpt()"); }
inline void __nanosleep(unsigned) {}
inline long long clock64() {
  return std::chrono::steady_clock::now().time_since_epoch().count();
}

// Warp shuffles and votes: each lane publishes its value, the lanes meet,
// and each reads the lane it asked for. A source outside the lane's segment
// of width lanes gives the lane its own value, as on the GPU.
namespace emu {
template <class T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffles move up to 8 bytes");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof v);
  return b;
}
template <class T>
T from_bits(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof v);
  return v;
}
template <class T>
T shfl(unsigned mask, T v, unsigned src) {
  Round r = exchange(mask, to_bits(v));
  return src < 32 && (r.lanes >> src & 1) ? from_bits<T>(r.v[src]) : v;
}
}  // namespace emu

template <class T>
T __shfl_sync(unsigned mask, T v, int src, int width = warpSize) {
  unsigned lane = emu::self().lane;
  return emu::shfl(mask, v, (lane & ~unsigned(width - 1)) + (unsigned(src) & unsigned(width - 1)));
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
  unsigned lane = emu::self().lane;
  return emu::shfl(mask, v, (lane & unsigned(width - 1)) >= delta ? lane - delta : lane);
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
  unsigned lane = emu::self().lane;
  return emu::shfl(mask, v, (lane & unsigned(width - 1)) + delta < unsigned(width) ? lane + delta : lane);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int laneMask, int width = warpSize) {
  unsigned lane = emu::self().lane;
  unsigned src = lane ^ unsigned(laneMask);
  return emu::shfl(mask, v, src < (lane / width + 1) * width ? src : lane);
}

inline unsigned __ballot_sync(unsigned mask, int pred) {
  emu::Round r = emu::exchange(mask, pred != 0);
  unsigned b = 0;
  for (unsigned l = 0; l < 32; l++) b |= unsigned((r.lanes >> l & 1) && r.v[l]) << l;
  return b;
}
inline int __any_sync(unsigned mask, int pred) { return __ballot_sync(mask, pred) != 0; }
inline int __all_sync(unsigned mask, int pred) { return __ballot_sync(mask, !pred) == 0; }
inline unsigned __activemask() { return emu::active_mask(); }

namespace emu {
template <class T, class F>
T reduce(unsigned mask, T v, F f) {
  Round r = exchange(mask, to_bits(v));
  bool first = true;
  T acc = v;
  for (unsigned l = 0; l < 32; l++) {
    if (!(r.lanes >> l & 1)) continue;
    acc = first ? from_bits<T>(r.v[l]) : f(acc, from_bits<T>(r.v[l]));
    first = false;
  }
  return acc;
}
}  // namespace emu
#define EMU_REDUCE(name, op)                                                \
  inline unsigned name(unsigned mask, unsigned v) {                         \
    return emu::reduce(mask, v, [](unsigned a, unsigned b) { return op; }); \
  }                                                                         \
  inline int name(unsigned mask, int v) {                                   \
    return emu::reduce(mask, v, [](int a, int b) { return op; });           \
  }
EMU_REDUCE(__reduce_add_sync, a + b)
EMU_REDUCE(__reduce_min_sync, b < a ? b : a)
EMU_REDUCE(__reduce_max_sync, b > a ? b : a)
#undef EMU_REDUCE
inline unsigned __reduce_and_sync(unsigned mask, unsigned v) {
  return emu::reduce(mask, v, [](unsigned a, unsigned b) { return a & b; });
}
inline unsigned __reduce_or_sync(unsigned mask, unsigned v) {
  return emu::reduce(mask, v, [](unsigned a, unsigned b) { return a | b; });
}
inline unsigned __reduce_xor_sync(unsigned mask, unsigned v) {
  return emu::reduce(mask, v, [](unsigned a, unsigned b) { return a ^ b; });
}

// Atomics: relaxed, like CUDA's; blocks on different OS threads really race.
// ThreadSanitizer ignores fences, so under it they are acq_rel: it then
// understands the __threadfence + atomicAdd hand-over between blocks.
namespace emu {
template <class T>
std::atomic_ref<T> at(T* p) { return std::atomic_ref<T>(*p); }
#ifdef __SANITIZE_THREAD__
constexpr auto rmw = std::memory_order_acq_rel;
#else
constexpr auto rmw = std::memory_order_relaxed;
#endif
template <class T, class F>
T atomic_update(T* p, F f) {  // CAS loop for what std::atomic_ref lacks
  auto a = at(p);
  T old = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(old, f(old), rmw)) {
  }
  return old;
}
}  // namespace emu
#define EMU_ATOMIC(T)                                                                                 \
  inline T atomicAdd(T* p, T v) { return emu::at(p).fetch_add(v, emu::rmw); }                         \
  inline T atomicExch(T* p, T v) { return emu::at(p).exchange(v, emu::rmw); }                         \
  inline T atomicMin(T* p, T v) { return emu::atomic_update(p, [v](T o) { return v < o ? v : o; }); } \
  inline T atomicMax(T* p, T v) { return emu::atomic_update(p, [v](T o) { return v > o ? v : o; }); }
EMU_ATOMIC(int)
EMU_ATOMIC(unsigned)
EMU_ATOMIC(unsigned long long)
EMU_ATOMIC(long long)
EMU_ATOMIC(float)
EMU_ATOMIC(double)
#undef EMU_ATOMIC
#define EMU_ATOMIC_INT(T)                                                     \
  inline T atomicSub(T* p, T v) { return emu::at(p).fetch_sub(v, emu::rmw); } \
  inline T atomicAnd(T* p, T v) { return emu::at(p).fetch_and(v, emu::rmw); } \
  inline T atomicOr(T* p, T v) { return emu::at(p).fetch_or(v, emu::rmw); }   \
  inline T atomicXor(T* p, T v) { return emu::at(p).fetch_xor(v, emu::rmw); } \
  inline T atomicCAS(T* p, T cmp, T v) {                                      \
    emu::at(p).compare_exchange_strong(cmp, v, emu::rmw);                     \
    return cmp;                                                               \
  }
EMU_ATOMIC_INT(int)
EMU_ATOMIC_INT(unsigned)
EMU_ATOMIC_INT(unsigned long long)
#undef EMU_ATOMIC_INT
inline unsigned atomicInc(unsigned* p, unsigned lim) {
  return emu::atomic_update(p, [lim](unsigned o) { return o >= lim ? 0u : o + 1; });
}
inline unsigned atomicDec(unsigned* p, unsigned lim) {
  return emu::atomic_update(p, [lim](unsigned o) { return o == 0 || o > lim ? lim : o - 1; });
}

// Cached and streaming loads and stores are plain ones here.
template <class T> T __ldg(const T* p) { return *p; }
template <class T> T __ldca(const T* p) { return *p; }
template <class T> T __ldcg(const T* p) { return *p; }
template <class T> T __ldcs(const T* p) { return *p; }
template <class T> T __ldlu(const T* p) { return *p; }
template <class T> T __ldcv(const T* p) { return *p; }
template <class T> void __stwb(T* p, T v) { *p = v; }
template <class T> void __stcg(T* p, T v) { *p = v; }
template <class T> void __stcs(T* p, T v) { *p = v; }
template <class T> void __stwt(T* p, T v) { *p = v; }

// min and max: CUDA overloads them for every arithmetic pair; the float
// ones are fminf/fmaxf (a NaN operand loses).
template <class A, class B>
  requires std::is_arithmetic_v<A> && std::is_arithmetic_v<B>
constexpr std::common_type_t<A, B> min(A a, B b) {
  using T = std::common_type_t<A, B>;
  if constexpr (std::is_floating_point_v<T>) return std::fmin(T(a), T(b));
  else return T(b) < T(a) ? T(b) : T(a);
}
template <class A, class B>
  requires std::is_arithmetic_v<A> && std::is_arithmetic_v<B>
constexpr std::common_type_t<A, B> max(A a, B b) {
  using T = std::common_type_t<A, B>;
  if constexpr (std::is_floating_point_v<T>) return std::fmax(T(a), T(b));
  else return T(a) < T(b) ? T(b) : T(a);
}
inline unsigned umin(unsigned a, unsigned b) { return min(a, b); }
inline unsigned umax(unsigned a, unsigned b) { return max(a, b); }
inline long long llmin(long long a, long long b) { return min(a, b); }
inline long long llmax(long long a, long long b) { return max(a, b); }
inline unsigned long long ullmin(unsigned long long a, unsigned long long b) { return min(a, b); }
inline unsigned long long ullmax(unsigned long long a, unsigned long long b) { return max(a, b); }

// Fast-math intrinsics: the CPU's correctly rounded functions are within
// their error bounds.
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float rcbrtf(float x) { return 1.0f / cbrtf(x); }
inline float __expf(float x) { return expf(x); }
inline float __exp10f(float x) { return powf(10.0f, x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __log10f(float x) { return log10f(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline void __sincosf(float x, float* s, float* c) { *s = sinf(x), *c = cosf(x); }
inline float __tanhf(float x) { return tanhf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float fdividef(float a, float b) { return a / b; }
inline float __saturatef(float x) { return x >= 1.0f ? 1.0f : x > 0.0f ? x : 0.0f; }  // NaN → 0
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __frsqrt_rn(float x) { return 1.0f / sqrtf(x); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }

// Conversions and bit casts.
inline int __float2int_rn(float x) { return int(nearbyintf(x)); }
inline int __float2int_rz(float x) { return int(x); }
inline int __float2int_rd(float x) { return int(floorf(x)); }
inline int __float2int_ru(float x) { return int(ceilf(x)); }
inline unsigned __float2uint_rn(float x) { return unsigned(nearbyintf(x)); }
inline unsigned __float2uint_rz(float x) { return unsigned(x); }
inline long long __float2ll_rn(float x) { return (long long)nearbyintf(x); }
inline float __int2float_rn(int x) { return float(x); }
inline float __uint2float_rn(unsigned x) { return float(x); }
inline float __double2float_rn(double x) { return float(x); }
inline int __float_as_int(float x) { return std::bit_cast<int>(x); }
inline unsigned __float_as_uint(float x) { return std::bit_cast<unsigned>(x); }
inline float __int_as_float(int x) { return std::bit_cast<float>(x); }
inline float __uint_as_float(unsigned x) { return std::bit_cast<float>(x); }
inline long long __double_as_longlong(double x) { return std::bit_cast<long long>(x); }
inline double __longlong_as_double(long long x) { return std::bit_cast<double>(x); }

// Integer intrinsics.
inline int __popc(unsigned x) { return std::popcount(x); }
inline int __popcll(unsigned long long x) { return std::popcount(x); }
inline int __clz(int x) { return std::countl_zero(unsigned(x)); }
inline int __clzll(long long x) { return std::countl_zero((unsigned long long)x); }
inline int __ffs(int x) { return x ? std::countr_zero(unsigned(x)) + 1 : 0; }
inline int __ffsll(long long x) { return x ? std::countr_zero((unsigned long long)x) + 1 : 0; }
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; i++, x >>= 1) r = r << 1 | (x & 1);
  return r;
}
inline int __mul24(int a, int b) { return a * b; }
inline unsigned __umul24(unsigned a, unsigned b) { return a * b; }
inline int __mulhi(int a, int b) { return int((long long)a * b >> 32); }
inline unsigned __umulhi(unsigned a, unsigned b) { return unsigned((unsigned long long)a * b >> 32); }
inline long long __mul64hi(long long a, long long b) { return (long long)((__int128)a * b >> 64); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return (unsigned long long)((unsigned __int128)a * b >> 64);
}
