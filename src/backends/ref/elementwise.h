// Internal to the reference backend: the element-wise kernel groups that
// register_elementwise_kernels (elementwise.cpp) calls, one per file.
#pragma once

#include "runtime/kernel_registry.h"

namespace qat::ref {

// Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid, HardSwish, Tanh, Exp, Sqrt, Log, Neg, Abs,
// Reciprocal, Floor, Ceil, Sin, Cos, Erf, Elu (elementwise.cpp).
void register_unary_kernels(runtime::KernelRegistry& reg);
// Add, Sub, Mul, Div, Pow, PRelu, Max, Min, Equal, Greater, Less, GreaterOrEqual, LessOrEqual,
// Where (binary.cpp).
void register_binary_kernels(runtime::KernelRegistry& reg);

}  // namespace qat::ref
