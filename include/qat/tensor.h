// qat public API: float tensors. A FloatTensor is a shape (row-major, batch first for model
// inputs) and the float32 values; it is what Engine::run takes and returns, what data sets
// give (load_samples) and what .npy files hold (load_npy / save_npy, numpy's format).
//
//   qat::api::FloatTensor x = qat::api::FloatTensor::zeros({1, 1, 28, 28});
//   x.at(0) = 0.5f;
//   qat::api::Status s = qat::api::save_npy("x.npy", x);
//   int64_t best = x.argmax_row(0);   // top-1 of row 0 of a [batch, classes] tensor
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qat/status.h"

namespace qat::api {

struct FloatTensor {
    std::vector<int64_t> shape;
    std::vector<float> data;  // row-major, numel() values

    static FloatTensor zeros(std::vector<int64_t> shape);

    // Product of the dims (1 for a scalar, shape {}).
    int64_t numel() const;
    float& at(int64_t i) { return data[static_cast<size_t>(i)]; }
    float at(int64_t i) const { return data[static_cast<size_t>(i)]; }
    // Index of the largest value of row `row` (dim 0), the rest of the dims flattened; the first
    // one on ties. -1 when the row is out of range or empty.
    int64_t argmax_row(int64_t row) const;
    // "[1,10]".
    std::string shape_string() const;
};

// Reads a float32 .npy file (other dtypes are converted to float32: uint8 images, float64, ...).
Result<FloatTensor> load_npy(const std::string& path);
// Writes a float32 .npy file, atomically (nothing is left behind on failure).
Status save_npy(const std::string& path, const FloatTensor& tensor);

}  // namespace qat::api
