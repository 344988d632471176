//go:build cudaemu

// What device.cc asks of the scheduler (sched.cc).
#pragma once

#include <string>

#include "emu.h"
#include "hooks.h"

namespace emu {

constexpr int kMaxArgs = 64;

// run executes one launch of k on the worker threads and returns "" or why
// it failed. Dimensions are already checked.
std::string run(const emu_kernel& k, const uint64_t* args, dim3 grid, dim3 block);

// workers is the number of OS threads that run blocks.
int workers();

}  // namespace emu
