//go:build cudaemu

// sched.cc runs launches. Worker OS threads (one per core) take blocks in
// turn; a worker runs every CUDA thread of its block as a fiber with its own
// stack, switching between them at barriers, shuffles and votes. Fibers make
// a 1024-thread block cheap (a switch costs nanoseconds; an OS thread per
// CUDA thread costs a context switch per barrier) and make a block's run
// deterministic: threads run in order of threadIdx between barriers, so a
// missing __syncthreads shows up as reads of stale shared memory.
//
// Under -fsanitize=thread the fibers are announced to ThreadSanitizer and
// barriers are its only happens-before edges between the threads of a block,
// so it reports what a missing barrier leaves unordered (testdata/race.cc).
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "launch.h"

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define EMU_TSAN 1
#endif

#if defined(__x86_64__) && !defined(EMU_UCONTEXT)
// A switch pushes the callee-saved registers on the old stack and pops them
// from the new one; swapcontext would also make a syscall.
asm(R"(
  .pushsection .text
  .p2align 4
  .type emu_switch, @function
emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size emu_switch, .-emu_switch
  .popsection
)");
extern "C" void emu_switch(void** save, void* to);
#else
#include <ucontext.h>
#endif

namespace emu {
namespace {

#if defined(__x86_64__) && !defined(EMU_UCONTEXT)
struct Ctx {
  void* sp = nullptr;
};
void ctx_init(Ctx& c, char* lo, size_t size, void (*entry)()) {
  auto s = reinterpret_cast<void**>((reinterpret_cast<uintptr_t>(lo) + size) & ~uintptr_t(15));
  *--s = nullptr;                            // entry's return address: it never returns
  *--s = reinterpret_cast<void*>(entry);     // where emu_switch's ret goes
  for (int i = 0; i < 6; i++) *--s = nullptr;  // rbp, rbx, r12–r15
  c.sp = s;
}
void ctx_switch(Ctx& from, Ctx& to) { emu_switch(&from.sp, to.sp); }
#else
struct Ctx {
  ucontext_t uc;
};
void ctx_init(Ctx& c, char* lo, size_t size, void (*entry)()) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = lo;
  c.uc.uc_stack.ss_size = size;
  c.uc.uc_link = nullptr;
  makecontext(&c.uc, entry, 0);
}
void ctx_switch(Ctx& from, Ctx& to) { swapcontext(&from.uc, &to.uc); }
#endif

#ifdef EMU_TSAN
void tsan_release(void* a) { __tsan_release(a); }
void tsan_acquire(void* a) { __tsan_acquire(a); }
#else
void tsan_release(void*) {}
void tsan_acquire(void*) {}
#endif

// Bookkeeping that several fibers and the scheduler touch is atomic with
// relaxed order: plain moves on one OS thread, and no report (and no
// ordering) under ThreadSanitizer.
template <class T>
T ld(const std::atomic<T>& a) { return a.load(std::memory_order_relaxed); }
template <class T>
void st(std::atomic<T>& a, T v) { a.store(v, std::memory_order_relaxed); }

constexpr int kMaxThreads = 1024;
constexpr size_t kStack = 256 << 10;  // virtual; a kernel touches a page or two

enum State : unsigned { kReady, kBlockWait, kWarpWait, kDone, kTrapped };

struct Fiber : Thread {
  unsigned warp = 0;
  std::atomic<unsigned> state{kDone};
  std::atomic<unsigned> wait_gen{0};  // barrier generation it waits to end
  bool fresh = true;                  // context must be (re)made before resuming
  Ctx ctx;
  char* stack = nullptr;
  void* tsan = nullptr;
};

// A barrier generation g uses slot and sync [g&1]: the next generation
// cannot start before every thread has left this one.
struct Warp {
  std::atomic<unsigned> gen{0}, arrived{0}, mask{0};
  std::atomic<unsigned> live{0};  // lanes that exist and have not exited
  std::atomic<unsigned> lanes[2];  // live lanes when a generation completed
  uint64_t slot[2][32];
  char sync[2];
};

struct Block {
  std::atomic<unsigned> gen{0}, arrived{0}, live{0};
  std::atomic<int> count[2];  // __syncthreads_count
  char sync[2];
};

struct Job {
  const emu_kernel* k;
  uint64_t args[kMaxArgs];
  dim3 grid, block;
  long long nblocks;
  std::atomic<long long> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::string err;

  void fail(const std::string& why) {
    std::lock_guard l(mu);
    if (!failed.exchange(true)) err = why;
  }
};

class Worker;
thread_local Worker* this_worker;

// Worker runs blocks on its OS thread.
class Worker {
 public:
  Worker();
  void run(Job& j);

  // Called from fibers.
  void syncthreads(int add, int* count);
  Round exchange(unsigned mask, uint64_t mine);
  unsigned active_mask() { return ld(warps_[me().warp].live); }
  [[noreturn]] void trap(const char* why);
  [[noreturn]] static void fiber_main();

 private:
  Fiber& me() { return static_cast<Fiber&>(const_cast<Thread&>(self())); }
  void block(Job& j, long long b);
  void resume(Fiber& f);
  void yield(Fiber& f);
  void exit_fiber();
  void release_block(unsigned g);
  void release_warp(Warp& w, unsigned g);

  std::unique_ptr<Fiber[]> fibers_{new Fiber[kMaxThreads]};
  char* stacks_;
  Warp warps_[kMaxThreads / 32];
  Block blk_;
  Ctx sched_;
  void* sched_tsan_ = nullptr;
  Job* job_ = nullptr;
  std::atomic<const char*> trap_{nullptr};  // set by a fiber that trapped
  dim3 shape_{0, 0, 0};  // block shape the fibers' indices were set for
};

Worker::Worker() {
  // PROT_NONE until a fiber first runs; each stack's lowest page stays a guard.
  void* p = mmap(nullptr, kMaxThreads * kStack, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    perror("kernels/emu: mmap of fiber stacks");
    std::abort();
  }
  stacks_ = static_cast<char*>(p);
#ifdef EMU_TSAN
  sched_tsan_ = __tsan_get_current_fiber();
#endif
}

void Worker::run(Job& j) {
  this_worker = this;
  job_ = &j;
  while (!j.failed.load(std::memory_order_relaxed)) {
    long long b = j.next.fetch_add(1, std::memory_order_relaxed);
    if (b >= j.nblocks) break;
    block(j, b);
  }
}

void Worker::block(Job& j, long long b) {
  grid_dim = j.grid;
  block_dim = j.block;
  block_idx = {unsigned(b % j.grid.x), unsigned(b / j.grid.x % j.grid.y), unsigned(b / j.grid.x / j.grid.y)};
  unsigned n = j.block.x * j.block.y * j.block.z;
  if (shape_.x != j.block.x || shape_.y != j.block.y || shape_.z != j.block.z) {
    shape_ = j.block;
    for (unsigned i = 0; i < n; i++) {
      Fiber& f = fibers_[i];
      f.idx = {i % j.block.x, i / j.block.x % j.block.y, i / j.block.x / j.block.y};
      f.lane = i % 32;
      f.warp = i / 32;
    }
  }
  st(blk_.arrived, 0u);
  st(blk_.live, n);
  st(blk_.count[0], 0);
  st(blk_.count[1], 0);
  for (unsigned w = 0; w * 32 < n; w++) {
    unsigned lanes = std::min(32u, n - w * 32);
    st(warps_[w].arrived, 0u);
    st(warps_[w].live, lanes == 32 ? ~0u : (1u << lanes) - 1);
  }
  for (unsigned i = 0; i < n; i++) st(fibers_[i].state, unsigned(kReady));

  // Round-robin over the fibers that can go on; a pass in which none can
  // means the threads wait at barriers that will never complete.
  while (ld(blk_.live) > 0) {
    bool ran = false;
    for (unsigned i = 0; i < n && !ld(trap_); i++) {
      Fiber& f = fibers_[i];
      switch (ld(f.state)) {
        case kReady:
          break;
        case kBlockWait:
          if (ld(blk_.gen) == ld(f.wait_gen)) continue;
          break;
        case kWarpWait:
          if (ld(warps_[f.warp].gen) == ld(f.wait_gen)) continue;
          break;
        default:
          continue;
      }
      st(f.state, unsigned(kReady));
      resume(f);
      ran = true;
    }
    const char* trapped = ld(trap_);
    if (trapped || !ran) {
      char why[160];
      snprintf(why, sizeof why, "block (%u,%u,%u): %s", block_idx.x, block_idx.y, block_idx.z,
               trapped ? trapped : "threads wait at barriers or warp-level calls that not all of them reach");
      j.fail(why);
      st(trap_, static_cast<const char*>(nullptr));
      for (unsigned i = 0; i < n; i++) {
        if (ld(fibers_[i].state) == kDone) continue;
        fibers_[i].fresh = true;  // abandoned mid-kernel
#ifdef EMU_TSAN
        __tsan_destroy_fiber(fibers_[i].tsan);
        fibers_[i].tsan = nullptr;
#endif
      }
      break;
    }
  }
  // The block's end orders it before the next block on this OS thread,
  // which reuses its shared memory and fibers.
  for (unsigned i = 0; i < n; i++) tsan_acquire(&fibers_[i]);
}

void Worker::resume(Fiber& f) {
  if (f.fresh) {
    size_t i = &f - fibers_.get();
    if (!f.stack) {
      long page = sysconf(_SC_PAGESIZE);
      f.stack = stacks_ + i * kStack;
      if (mprotect(f.stack + page, kStack - page, PROT_READ | PROT_WRITE) != 0) {
        perror("kernels/emu: mprotect of a fiber stack");
        std::abort();
      }
    }
    // Stack tops 256 KiB apart would share cache sets; stagger them by a
    // different multiple of 64 bytes for each fiber (67 is coprime to 1024).
    size_t color = i * 67 * 64 % (64 << 10);
    ctx_init(f.ctx, f.stack, kStack - color, &Worker::fiber_main);
#ifdef EMU_TSAN
    if (!f.tsan) f.tsan = __tsan_create_fiber(0);
#endif
    f.fresh = false;
  }
  std::atomic_ref<const Thread*>(cur).store(&f, std::memory_order_relaxed);
#ifdef EMU_TSAN
  __tsan_switch_to_fiber(f.tsan, 0);
#endif
  ctx_switch(sched_, f.ctx);
}

void Worker::yield(Fiber& f) {
#ifdef EMU_TSAN
  // No sync: the scheduler must not carry one thread's history to another.
  __tsan_switch_to_fiber(sched_tsan_, __tsan_switch_to_fiber_no_sync);
#endif
  ctx_switch(f.ctx, sched_);
}

void Worker::fiber_main() {
  for (;;) {
    Worker* w = this_worker;
    w->job_->k->run(w->job_->args);
    w->exit_fiber();  // returns when the fiber is resumed for another block
  }
}

void Worker::exit_fiber() {
  Fiber& f = me();
  Warp& w = warps_[f.warp];
  tsan_release(&blk_.sync[ld(blk_.gen) & 1]);
  tsan_release(&w.sync[ld(w.gen) & 1]);
  // Exited threads no longer count at barriers, as on the GPU.
  st(blk_.live, ld(blk_.live) - 1);
  st(w.live, ld(w.live) & ~(1u << f.lane));
  if (ld(blk_.arrived) > 0 && ld(blk_.arrived) >= ld(blk_.live)) release_block(ld(blk_.gen));
  if (ld(w.arrived) > 0 && ld(w.arrived) >= unsigned(std::popcount(ld(w.mask) & ld(w.live)))) {
    release_warp(w, ld(w.gen));
  }
  tsan_release(&f);  // after its last access: the block's end acquires it
  st(f.state, unsigned(kDone));
  yield(f);
}

void Worker::trap(const char* why) {
  Fiber& f = me();
  st(trap_, why);
  st(f.state, unsigned(kTrapped));
  yield(f);
  std::abort();  // never resumed: the scheduler remakes the context
}

void Worker::release_block(unsigned g) {
  st(blk_.arrived, 0u);
  st(blk_.count[(g + 1) & 1], 0);  // everyone has read the previous count
  st(blk_.gen, g + 1);
}

void Worker::release_warp(Warp& w, unsigned g) {
  st(w.lanes[g & 1], ld(w.live) & ld(w.mask));  // whose slots hold this round's values
  st(w.arrived, 0u);
  st(w.gen, g + 1);
}

void Worker::syncthreads(int add, int* count) {
  Fiber& f = me();
  unsigned g = ld(blk_.gen);
  if (add) st(blk_.count[g & 1], ld(blk_.count[g & 1]) + add);
  tsan_release(&blk_.sync[g & 1]);
  unsigned a = ld(blk_.arrived) + 1;
  if (a >= ld(blk_.live)) {
    release_block(g);
  } else {
    st(blk_.arrived, a);
    st(f.wait_gen, g);
    st(f.state, unsigned(kBlockWait));
    yield(f);
  }
  tsan_acquire(&blk_.sync[g & 1]);
  if (count) *count = ld(blk_.count[g & 1]);
}

Round Worker::exchange(unsigned mask, uint64_t mine) {
  Fiber& f = me();
  Warp& w = warps_[f.warp];
  unsigned g = ld(w.gen);
  w.slot[g & 1][f.lane] = mine;
  tsan_release(&w.sync[g & 1]);
  unsigned a = ld(w.arrived) + 1;
  if (a == 1) st(w.mask, mask);
  if (a >= unsigned(std::popcount(mask & ld(w.live)))) {
    release_warp(w, g);
  } else {
    st(w.arrived, a);
    st(f.wait_gen, g);
    st(f.state, unsigned(kWarpWait));
    yield(f);
  }
  tsan_acquire(&w.sync[g & 1]);
  return {w.slot[g & 1], ld(w.lanes[g & 1])};
}

// Pool holds the worker threads; one launch runs at a time.
class Pool {
 public:
  explicit Pool(int n) : slots_(n) {
    for (int i = 0; i < n; i++) std::thread([this, i] { loop(i); }).detach();
  }
  int size() const { return int(slots_.size()); }

  void run(Job& j) {
    std::lock_guard l(mu_);
    int n = int(std::min<long long>(size(), j.nblocks));
    remaining_.store(n, std::memory_order_relaxed);
    for (int i = 0; i < n; i++) {
      slots_[i].job = &j;
      slots_[i].seq.fetch_add(1, std::memory_order_release);
      slots_[i].seq.notify_one();
    }
    for (int r; (r = remaining_.load(std::memory_order_acquire)) != 0;) remaining_.wait(r, std::memory_order_acquire);
  }

 private:
  struct Slot {
    std::atomic<uint64_t> seq{0};
    Job* job = nullptr;
  };

  void loop(int i) {
    Worker w;
    Slot& s = slots_[i];
    for (uint64_t seen = 0;;) {
      s.seq.wait(seen, std::memory_order_acquire);
      seen = s.seq.load(std::memory_order_acquire);
      w.run(*s.job);
      if (remaining_.fetch_sub(1, std::memory_order_acq_rel) == 1) remaining_.notify_all();
    }
  }

  std::mutex mu_;
  std::vector<Slot> slots_;
  std::atomic<int> remaining_{0};
};

Pool& pool() {
  // Never destroyed: the threads live as long as the process.
  static Pool* p = [] {
    int n = int(std::thread::hardware_concurrency());
    if (const char* e = getenv("BYOL_EMU_THREADS")) n = atoi(e);
    return new Pool(std::clamp(n, 1, 64));
  }();
  return *p;
}

}  // namespace

void syncthreads() { this_worker->syncthreads(0, nullptr); }
int syncthreads_count(int pred) {
  int c;
  this_worker->syncthreads(pred != 0, &c);
  return c;
}
void syncwarp(unsigned mask) { this_worker->exchange(mask, 0); }
Round exchange(unsigned mask, uint64_t mine) { return this_worker->exchange(mask, mine); }
unsigned active_mask() { return this_worker->active_mask(); }
void trap(const char* why) { this_worker->trap(why); }

int workers() { return pool().size(); }

std::string run(const emu_kernel& k, const uint64_t* args, dim3 grid, dim3 block) {
  auto j = std::make_unique<Job>();
  j->k = &k;
  std::copy(args, args + k.nargs, j->args);
  j->grid = grid;
  j->block = block;
  j->nblocks = (long long)grid.x * grid.y * grid.z;
  pool().run(*j);
  return j->failed ? j->err : "";
}

}  // namespace emu
