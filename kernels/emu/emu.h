//go:build cudaemu

// The emulator's C interface, for cgo (emu.go) and the ThreadSanitizer
// check (testdata/race.cc). Functions that can fail return NULL or an error
// message that stays valid until the device's next call.
#ifndef BYOL_EMU_H
#define BYOL_EMU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// One kernel of the table in kernels.cc: run calls it for the current CUDA
// thread, unpacking its nargs 8-byte holders.
typedef struct emu_kernel {
  const char* name;
  int nargs;
  void (*run)(const uint64_t* args);
} emu_kernel;

extern const emu_kernel emu_kernels[];
extern const int emu_nkernels;
const char* emu_sources_hash(void);  // of the sources the table was made from

typedef struct emu_device emu_device;

emu_device* emu_open(void);
int emu_workers(void);        // OS threads that run blocks
int emu_kernel_index(const char* name);  // -1 if unknown
const char* emu_kernel_name(int i);      // NULL if i is out of range

const char* emu_malloc(emu_device* d, long long bytes, uintptr_t* p);
const char* emu_free(emu_device* d, uintptr_t p);
// emu_host returns the host memory of [p, p+bytes) if an allocation holds
// it, else NULL. Go copies through it itself: cgo may not be passed Go
// memory that sits in an object holding Go pointers.
void* emu_host(emu_device* d, uintptr_t p, long long bytes);
const char* emu_dtod(emu_device* d, uintptr_t dst, uintptr_t src, long long bytes);
const char* emu_launch(emu_device* d, int kernel, long long gx, long long gy, long long gz,
                       long long bx, long long by, long long bz, const uint64_t* args, int nargs);

#ifdef __cplusplus
}
#endif

#endif
