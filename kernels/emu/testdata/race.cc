// race.cc checks the emulator under ThreadSanitizer, which sees the
// threads of a block as fibers ordered only by barriers: the self-test
// kernels run without a report, and a reduction missing one __syncthreads
// is reported as a race. A manual check (about a minute), from kernels/emu:
//
//	g++ -std=c++20 -O1 -g -fsanitize=thread -Wno-tsan -fno-strict-aliasing -Wno-unknown-pragmas -I. \
//	  -o /tmp/emu-race testdata/race.cc kernels.cc sched.cc device.cc &&
//	  /tmp/emu-race clean && ! /tmp/emu-race racy
//
// Add -DEMU_UCONTEXT to check the portable context switch instead of the
// x86-64 one.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../emu.h"

namespace {

emu_device* d;

uintptr_t alloc(size_t bytes) {
  uintptr_t p;
  if (const char* e = emu_malloc(d, (long long)bytes, &p)) {
    fprintf(stderr, "%s\n", e);
    exit(1);
  }
  std::vector<float> v(bytes / 4 + 1);
  for (size_t i = 0; i < v.size(); i++) v[i] = float(i % 7);
  memcpy(emu_host(d, p, (long long)bytes), v.data(), bytes);
  return p;
}

uint64_t f(float v) {
  uint64_t h = 0;
  memcpy(&h, &v, 4);
  return h;
}

void launch(const char* name, int grid, int bx, int by, std::vector<uint64_t> args) {
  int k = emu_kernel_index(name);
  const char* e = k < 0 ? "unknown kernel" : emu_launch(d, k, grid, 1, 1, bx, by, 1, args.data(), int(args.size()));
  if (e) {
    fprintf(stderr, "%s: %s\n", name, e);
    exit(1);
  }
  fprintf(stderr, "ran %s\n", name);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 || (strcmp(argv[1], "clean") != 0 && strcmp(argv[1], "racy") != 0)) {
    fprintf(stderr, "usage: %s clean|racy\n", argv[0]);
    return 2;
  }
  d = emu_open();
  const int n = 4 * 256;
  uintptr_t x = alloc(4 * n), y = alloc(4 * n), o[6];
  for (auto& p : o) p = alloc(32 * n);
  if (strcmp(argv[1], "racy") == 0) {
    launch("emu_test_block_sum_racy", 4, 256, 1, {x, o[0], uint64_t(n)});
    return 0;
  }
  launch("emu_test_axpy", 4, 256, 1, {y, x, f(2), uint64_t(n)});
  launch("emu_test_block_sum", 4, 256, 1, {x, o[0], uint64_t(n)});
  launch("emu_test_warp", 4, 256, 1, {x, o[0], o[1], o[2], o[3], o[4], o[5], uint64_t(n)});
  launch("emu_test_sgemm", 2, 16, 16, {x, y, o[0], 16, 32, 16});
  launch("emu_test_vote", 4, 256, 1, {x, o[0]});
  launch("emu_test_exit", 4, 256, 1, {o[0], 200});
  uintptr_t hist = alloc(4 * 8), total = alloc(8);
  std::vector<int> xi(n);
  for (int i = 0; i < n; i++) xi[i] = i;
  memcpy(emu_host(d, o[1], 4 * n), xi.data(), 4 * n);
  launch("emu_test_atomics", 4, 256, 1, {o[1], uint64_t(n), hist, 8, total, o[2]});
  return 0;
}
