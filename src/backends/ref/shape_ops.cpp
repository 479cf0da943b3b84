// Flatten, Reshape, Transpose, Concat, Split, Slice, Gather, Shape, Squeeze, Unsqueeze, Identity, Dropout, Cast, Constant, ConstantOfShape.
#include "backends/ref/ref_ops.h"

namespace qat::ref {

void register_shape_kernels(runtime::KernelRegistry& reg) {
    (void)reg;  // TODO(ref): kernels being written
}

}  // namespace qat::ref
