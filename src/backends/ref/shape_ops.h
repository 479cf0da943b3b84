// Internal to the reference backend: the shape and data-movement kernel groups that
// register_shape_kernels (shape_ops.cpp) calls, one per file.
#pragma once

#include "runtime/kernel_registry.h"

namespace qat::ref {

// Transpose, Concat, Split, Slice, Gather, Expand (data_movement.cpp).
void register_data_movement_kernels(runtime::KernelRegistry& reg);
// Cast, CastLike, Constant, ConstantOfShape (cast_constant.cpp).
void register_cast_constant_kernels(runtime::KernelRegistry& reg);

}  // namespace qat::ref
