//go:build cudaemu

// The kernels translation unit: byol.cu and the emulator's own test kernels
// compiled by g++, and the table that launches them by name.

// Never fuse a*b+c, even if CGO_CXXFLAGS has -march=native: results then
// match Go's on the CPU backend wherever a kernel asks for separate
// roundings (cgo does not accept -ffp-contract=off as a flag).
#pragma GCC optimize("fp-contract=off")

#include "cuda_cpu.h"

#include "../byol.cu"
#include "selftest.cuh"

#include "emu.h"

namespace {

// arg reads a kernel parameter from its 8-byte holder: an int or float sits
// in the low bytes (little-endian), as gorgonia.org/cu passes it.
template <class T>
T arg(uint64_t holder) {
  static_assert(std::is_pointer_v<T> || std::is_arithmetic_v<T>,
                "kernel parameters are pointers, int, float, long long or unsigned long long (kernels/README.md)");
  static_assert(sizeof(T) <= sizeof holder);
  T v;
  std::memcpy(&v, &holder, sizeof v);
  return v;
}

// Entry<&kernel> deduces the kernel's parameter types from its pointer, so
// a new kernel needs only its KERNEL line (written by gen).
template <auto F>
struct Entry;
template <class... A, void (*F)(A...)>
struct Entry<F> {
  template <size_t... I>
  static void call(const uint64_t* a, std::index_sequence<I...>) {
    F(arg<A>(a[I])...);
  }
  static void run(const uint64_t* a) { call(a, std::index_sequence_for<A...>{}); }
  static constexpr int nargs = sizeof...(A);
};

}  // namespace

#define KERNEL(name) {#name, Entry<&name>::nargs, &Entry<&name>::run},
extern "C" const emu_kernel emu_kernels[] = {
#include "kernels_gen.h"
};
#undef KERNEL
extern "C" const int emu_nkernels = sizeof emu_kernels / sizeof emu_kernels[0];
extern "C" const char* emu_sources_hash(void) { return BYOL_EMU_SOURCES; }
