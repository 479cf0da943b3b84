// The reference backend: naive, readable float and integer kernels for every op qat runs.
// It is the numerical oracle for every other backend, pass, calibrator and trainer, so
// clarity beats speed here (no SIMD, no threading, straightforward loops).
#pragma once

#include "runtime/kernel_registry.h"

namespace qat::ref {

// Registers a candidate for each supported op, backend name "ref".
void register_kernels(runtime::KernelRegistry& registry);

}  // namespace qat::ref
