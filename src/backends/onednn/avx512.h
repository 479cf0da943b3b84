// AVX-512 for the backend's loops of our own: the intrinsics (GCC 12's AVX-512 headers trip
// -W(maybe-)uninitialized on their own undefined-vector helpers: silenced for the including
// file), and whether this machine has AVX-512 F, BW and VL, checked once.
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace qat::onednn {

inline bool avx512bw_available() {
#if defined(__x86_64__)
    static const bool ok =
        __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
    return ok;
#else
    return false;
#endif
}

}  // namespace qat::onednn
