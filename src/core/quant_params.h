// QuantParams: the scale / zero point of one QuantizeLinear or DequantizeLinear.
//
// Per-tensor when scale.size() == 1, per-axis otherwise (one entry per slice along `axis`).
// qat's own scheme is symmetric int8 (zero point 0, scale = amax / 127), but imported models may
// carry uint8 and non-zero zero points, so the struct holds the general form.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace qat {

struct QuantParams {
    std::vector<float> scale;
    std::vector<int32_t> zero_point;  // same length as scale
    int axis = 1;                     // ONNX default; meaningful only when per-axis
    DataType qtype = DataType::kInt8;

    bool per_tensor() const { return scale.size() == 1; }
    size_t channels() const { return scale.size(); }

    static QuantParams symmetric_per_tensor(float amax, DataType qtype = DataType::kInt8);
    static QuantParams symmetric_per_channel(const std::vector<float>& amax, int axis);

    // Scales must be finite and > 0; zero points within the qtype's range.
    Status validate() const;
    std::string to_string() const;
};

// scale = amax / 127, guarding amax == 0 (an all-zero tensor) so the scale stays positive.
float symmetric_scale(float amax);

}  // namespace qat
