//go:build cudaemu

// device.cc is the emulator's C interface: "device" memory is host memory,
// copies are memcpy, and a launch runs to completion before it returns.
//
// Every allocation sits between guard bytes that are checked after each
// launch that was passed a pointer into it, so a kernel that writes past
// its buffer fails with an error instead of corrupting its neighbour; the
// guards read as NaN, so one that uses a value read past it fails too.
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "emu.h"
#include "launch.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

namespace {

constexpr size_t kAlign = 256;  // cudaMalloc's alignment
constexpr size_t kGuard = 256;  // guard bytes before; after: at least this
constexpr unsigned char kCanary = 0xFF;  // reads as NaN: using a value past a buffer shows

struct Alloc {
  size_t bytes;  // what was asked for
  size_t total;  // with guards
};

char* base(uintptr_t p) { return reinterpret_cast<char*>(p) - kGuard; }

bool guards_intact(uintptr_t p, const Alloc& a) {
  static const auto canary = [] {
    static unsigned char c[kGuard + 2 * kAlign];
    memset(c, kCanary, sizeof c);
    return c;
  }();
  char* b = base(p);
  return memcmp(b, canary, kGuard) == 0 &&
         memcmp(b + kGuard + a.bytes, canary, a.total - kGuard - a.bytes) == 0;
}

// Calls on a device take turns (the Go side holds a mutex), but Go may
// make them from different OS threads and ThreadSanitizer does not see Go's
// locks. Under -fsanitize=thread each call acquires the device on entry and
// releases it on return, so the order of calls is an order TSan sees too
// and only races between a kernel's own threads are reported.
struct Turn {
  void* d;
#if defined(__SANITIZE_THREAD__)
  explicit Turn(void* dev) : d(dev) { __tsan_acquire(d); }
  ~Turn() { __tsan_release(d); }
#else
  explicit Turn(void* dev) : d(dev) {}
#endif
};

}  // namespace

struct emu_device {
  std::map<uintptr_t, Alloc> allocs;  // by the address handed out
  std::string err;

  const char* fail(const char* format, ...) __attribute__((format(printf, 2, 3))) {
    char buf[512];
    va_list ap;
    va_start(ap, format);
    vsnprintf(buf, sizeof buf, format, ap);
    va_end(ap);
    err = buf;
    return err.c_str();
  }

  // find returns the allocation holding [p, p+bytes), or allocs.end().
  std::map<uintptr_t, Alloc>::iterator find(uintptr_t p, size_t bytes) {
    auto it = allocs.upper_bound(p);
    if (it == allocs.begin()) return allocs.end();
    --it;
    size_t off = p - it->first;
    if (off > it->second.bytes || bytes > it->second.bytes - off) return allocs.end();
    return it;
  }

  const char* check_range(const char* op, uintptr_t p, long long bytes) {
    if (bytes < 0) return fail("%s of %lld bytes", op, bytes);
    if (find(p, size_t(bytes)) == allocs.end()) {
      return fail("%s of %lld bytes at %#llx: outside every allocation", op, bytes, (unsigned long long)p);
    }
    return nullptr;
  }
};

extern "C" {

emu_device* emu_open(void) {
  emu::workers();  // start the threads now rather than in the first launch
  auto* d = new emu_device;
  Turn turn(d);  // releases what the constructor wrote to the next call
  return d;
}

int emu_workers(void) { return emu::workers(); }

const char* emu_kernel_name(int i) { return i >= 0 && i < emu_nkernels ? emu_kernels[i].name : nullptr; }

int emu_kernel_index(const char* name) {
  for (int i = 0; i < emu_nkernels; i++) {
    if (strcmp(emu_kernels[i].name, name) == 0) return i;
  }
  return -1;
}

const char* emu_malloc(emu_device* d, long long bytes, uintptr_t* p) {
  Turn turn(d);
  if (bytes < 0) return d->fail("malloc of %lld bytes", bytes);
  size_t n = size_t(bytes);
  size_t total = kGuard + (n + kAlign - 1) / kAlign * kAlign + kGuard;
  char* b = static_cast<char*>(aligned_alloc(kAlign, total));
  if (!b) return d->fail("out of memory allocating %lld bytes", bytes);
  memset(b, kCanary, total);
  memset(b + kGuard, 0, n);
  *p = reinterpret_cast<uintptr_t>(b + kGuard);
  d->allocs[*p] = {n, total};
  return nullptr;
}

const char* emu_free(emu_device* d, uintptr_t p) {
  Turn turn(d);
  if (p == 0) return nullptr;
  auto it = d->allocs.find(p);
  if (it == d->allocs.end()) return d->fail("free of %#llx: not an allocation", (unsigned long long)p);
  bool ok = guards_intact(p, it->second);
  size_t bytes = it->second.bytes;
  free(base(p));
  d->allocs.erase(it);
  if (!ok) return d->fail("a kernel wrote outside the %zu-byte buffer at %#llx (found at free)", bytes, (unsigned long long)p);
  return nullptr;
}

void* emu_host(emu_device* d, uintptr_t p, long long bytes) {
  Turn turn(d);
  if (bytes < 0 || d->find(p, size_t(bytes)) == d->allocs.end()) return nullptr;
  return reinterpret_cast<void*>(p);
}

const char* emu_dtod(emu_device* d, uintptr_t dst, uintptr_t src, long long bytes) {
  Turn turn(d);
  if (const char* e = d->check_range("DtoD destination", dst, bytes)) return e;
  if (const char* e = d->check_range("DtoD source", src, bytes)) return e;
  if (bytes > 0) memmove(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), size_t(bytes));
  return nullptr;
}

const char* emu_launch(emu_device* d, int kernel, long long gx, long long gy, long long gz, long long bx,
                       long long by, long long bz, const uint64_t* args, int nargs) {
  Turn turn(d);
  if (kernel < 0 || kernel >= emu_nkernels) return d->fail("launch of unknown kernel %d", kernel);
  const emu_kernel& k = emu_kernels[kernel];
  // Like the GPU driver, a Y or Z of 0 means 1.
  gy = gy ? gy : 1, gz = gz ? gz : 1, by = by ? by : 1, bz = bz ? bz : 1;
  if (gx < 1 || gy < 1 || gz < 1 || gx > 0x7fffffff || gy > 65535 || gz > 65535 || bx < 1 || by < 1 || bz < 1 ||
      bx > 1024 || by > 1024 || bz > 64 || bx * by * bz > 1024) {
    return d->fail("kernel %s: invalid launch: grid (%lld,%lld,%lld), block (%lld,%lld,%lld)", k.name, gx, gy, gz,
                   bx, by, bz);
  }
  if (nargs != k.nargs) return d->fail("kernel %s takes %d arguments, launched with %d", k.name, k.nargs, nargs);
  if (nargs > emu::kMaxArgs) return d->fail("kernel %s: more than %d arguments", k.name, emu::kMaxArgs);
  std::string err = emu::run(k, args, dim3(unsigned(gx), unsigned(gy), unsigned(gz)),
                             dim3(unsigned(bx), unsigned(by), unsigned(bz)));
  if (!err.empty()) {
    return d->fail("kernel %s (grid %lld,%lld,%lld, block %lld,%lld,%lld): %s", k.name, gx, gy, gz, bx, by, bz,
                   err.c_str());
  }
  // A kernel can write only through its pointer arguments.
  for (int i = 0; i < nargs; i++) {
    auto it = d->find(uintptr_t(args[i]), 0);
    if (it != d->allocs.end() && !guards_intact(it->first, it->second)) {
      return d->fail("kernel %s wrote outside the %zu-byte buffer passed as argument %d", k.name,
                     it->second.bytes, i);
    }
  }
  return nullptr;
}

}  // extern "C"
