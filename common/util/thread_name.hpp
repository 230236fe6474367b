#pragma once
// Names the calling thread (at most 15 characters are kept), so that `top -H`, `ps -L` and
// /proc/PID/task/*/comm tell an operator which stage uses the CPU.

#include <pthread.h>

namespace ioam {

inline void name_this_thread(const char* name) noexcept {
    pthread_setname_np(pthread_self(), name);
}

}  // namespace ioam
