// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool.
#include "backends/ref/ref_ops.h"

namespace qat::ref {

void register_pool_kernels(runtime::KernelRegistry& reg) {
    (void)reg;  // TODO(ref): kernels being written
}

}  // namespace qat::ref
