#include "core/quant_params.h"

#include <cmath>
#include <sstream>

#include "core/qmath.h"

namespace qat {

float symmetric_scale(float amax) {
    amax = std::fabs(amax);
    // An all-zero tensor has no range; any positive scale reproduces it exactly. Use the
    // smallest normal float's order so 0/scale stays 0 and the scale passes validation.
    if (!(amax > 0.0f) || !std::isfinite(amax)) return amax > 0.0f ? amax / 127.0f : 1.0f / 127.0f;
    return amax / 127.0f;
}

QuantParams QuantParams::symmetric_per_tensor(float amax, DataType qtype) {
    QuantParams p;
    p.scale = {symmetric_scale(amax)};
    p.zero_point = {0};
    p.qtype = qtype;
    return p;
}

QuantParams QuantParams::symmetric_per_channel(const std::vector<float>& amax, int axis) {
    QuantParams p;
    p.axis = axis;
    p.scale.reserve(amax.size());
    for (float a : amax) p.scale.push_back(symmetric_scale(a));
    p.zero_point.assign(amax.size(), 0);
    return p;
}

Status QuantParams::validate() const {
    if (scale.empty()) return invalid_model("quantization scale is empty");
    if (zero_point.size() != scale.size())
        return invalid_model("zero point has ", zero_point.size(), " entries, scale has ", scale.size());
    for (size_t i = 0; i < scale.size(); ++i) {
        if (!std::isfinite(scale[i]) || !(scale[i] > 0.0f))
            return invalid_model("quantization scale[", i, "] = ", scale[i], " (must be finite and > 0)");
        if (zero_point[i] < qmath::qmin(qtype) || zero_point[i] > qmath::qmax(qtype))
            return invalid_model("zero point[", i, "] = ", zero_point[i], " outside the ", dtype_name(qtype),
                                 " range");
    }
    return OkStatus();
}

std::string QuantParams::to_string() const {
    std::ostringstream os;
    os << dtype_name(qtype) << " ";
    if (per_tensor()) {
        os << "scale=" << scale[0] << " zp=" << zero_point[0];
    } else {
        os << "axis=" << axis << " channels=" << scale.size();
    }
    return os.str();
}

namespace qmath {

FixedPointMultiplier quantize_multiplier(double m) {
    FixedPointMultiplier out;
    if (m == 0.0) return out;
    int exp = 0;
    double q = std::frexp(m, &exp);  // m = q * 2^exp, q in [0.5, 1)
    auto q_fixed = static_cast<int64_t>(std::llround(q * (1LL << 31)));
    if (q_fixed == (1LL << 31)) {
        q_fixed /= 2;
        ++exp;
    }
    out.multiplier = static_cast<int32_t>(q_fixed);
    out.shift = -exp;  // right shift by (31 - exp) in total = 31 + shift
    return out;
}

int32_t apply_multiplier(int32_t acc, FixedPointMultiplier m) {
    int64_t prod = static_cast<int64_t>(acc) * m.multiplier;
    int total_shift = 31 + m.shift;
    if (total_shift <= 0) return static_cast<int32_t>(prod << (-total_shift));
    int64_t round = int64_t{1} << (total_shift - 1);
    int64_t r = prod >= 0 ? (prod + round) >> total_shift : -((-prod + round) >> total_shift);
    return static_cast<int32_t>(r);
}

}  // namespace qmath
}  // namespace qat
