//go:build cudaemu

// What the kernels' compatibility header (cuda_cpu.h) and the scheduler
// (sched.cc) share: CUDA's index types, the running thread's indices, and
// the hooks behind __syncthreads, shuffles and votes. No macros here, so
// sched.cc can include it next to the standard library.
#pragma once

#include <atomic>
#include <cstdint>

struct uint3 {
  unsigned x, y, z;
};

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned x = 1, unsigned y = 1, unsigned z = 1) : x(x), y(y), z(z) {}
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
  constexpr operator uint3() const { return {x, y, z}; }
};

namespace emu {

// Thread is what a CUDA thread knows about itself.
struct Thread {
  uint3 idx;      // threadIdx
  unsigned lane;  // linear index % 32
};

// The running CUDA thread (a fiber) and its block. Fibers of one block run on
// one OS thread, so thread_local is per block. cur is written by the
// scheduler between fibers: relaxed atomics keep ThreadSanitizer from seeing
// those writes as races with the fibers' reads.
constinit inline thread_local const Thread* cur = nullptr;
constinit inline thread_local uint3 block_idx{};
constinit inline thread_local dim3 block_dim{};
constinit inline thread_local dim3 grid_dim{};

inline const Thread& self() {
  return *std::atomic_ref<const Thread*>(cur).load(std::memory_order_relaxed);
}

// Hooks implemented by the scheduler.
void syncthreads();
int syncthreads_count(int pred);  // number of threads with pred != 0
void syncwarp(unsigned mask);

// Round is one warp-wide exchange: every lane in mask wrote a value, and
// v[lane] can be read until the lane's next warp-level call.
struct Round {
  const uint64_t* v;
  unsigned lanes;  // lanes that took part (existed and had not exited)
};
Round exchange(unsigned mask, uint64_t mine);
unsigned active_mask();

// trap ends the launch with an error (the kernel called __trap).
[[noreturn]] void trap(const char* why);

}  // namespace emu
