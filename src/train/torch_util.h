// Internal to src/train: conversions between qat::Tensor and at::Tensor, and the adapter that
// turns libtorch exceptions into Status (no exception leaves a qat library).
//
// Only files of src/train include this header (it pulls in ATen, ~10 s of compile time per
// file). Public headers of the folder stay plain C++.
#pragma once

#include <ATen/ATen.h>

#include <exception>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace qat::train::detail {

// at::ScalarType of a qat dtype; error for dtypes libtorch has no counterpart of.
Result<at::ScalarType> to_scalar_type(DataType t);
Result<DataType> from_scalar_type(at::ScalarType t);

// Deep copy of a qat tensor into a fresh (contiguous, CPU) at::Tensor. float16 becomes float32.
Result<at::Tensor> to_torch(const Tensor& t);
// Deep copy of an at::Tensor (any layout, detached) into a qat tensor.
Result<Tensor> from_torch(const at::Tensor& t);
// from_torch for float32 tensors the caller knows are valid (parameters); asserts on misuse.
Tensor float_from_torch(const at::Tensor& t);

std::vector<int64_t> dims_of(const at::Tensor& t);

// Runs `fn`, converting a c10::Error / std::exception into a Status (kInternal for c10 errors we
// did not anticipate, with the first line of libtorch's message).
template <typename Fn>
Status guard_torch(const std::string& what, Fn&& fn) {
    try {
        return fn();
    } catch (const std::exception& e) {
        std::string msg = e.what();
        // c10 messages carry a C++ backtrace after the first line; keep the first one.
        size_t nl = msg.find('\n');
        if (nl != std::string::npos) msg.resize(nl);
        return invalid_argument(what, ": ", msg);
    }
}

}  // namespace qat::train::detail
