// QuantizeLinear, DequantizeLinear.
#include "backends/ref/ref_ops.h"

namespace qat::ref {

void register_quantize_kernels(runtime::KernelRegistry& reg) {
    (void)reg;  // TODO(ref): kernels being written
}

}  // namespace qat::ref
