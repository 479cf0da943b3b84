// NumPy .npy files (format 1.0-3.0, C order, little-endian): the tensor exchange format of
// `qat run`, the `npy:` data sets and the ONNX Runtime oracle scripts.
#pragma once

#include <string>

#include "core/status.h"
#include "core/tensor.h"

namespace qat {

Result<Tensor> parse_npy(const std::string& bytes, const std::string& what = "npy data");
Result<Tensor> load_npy(const std::string& path);
std::string serialize_npy(const Tensor& t);
// Atomic write.
Status save_npy(const std::string& path, const Tensor& t);

}  // namespace qat
