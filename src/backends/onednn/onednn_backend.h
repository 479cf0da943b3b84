// The oneDNN CPU backend: INT8 and FP32 kernels on oneDNN primitives (oneDNN 2.6).
#pragma once

#include "runtime/kernel_registry.h"

namespace qat::onednn {

// Registers a candidate for each op oneDNN runs, backend name "onednn".
void register_kernels(runtime::KernelRegistry& registry);

}  // namespace qat::onednn
