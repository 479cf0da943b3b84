#include "train/module_options.h"

namespace qat::train {

const char* range_mode_name(RangeMode m) {
    switch (m) {
        case RangeMode::kLastBatch:
            return "last-batch";
        case RangeMode::kEma:
            return "ema";
        case RangeMode::kFixed:
            return "fixed";
        case RangeMode::kLearned:
            return "learned";
    }
    return "?";
}

Result<RangeMode> parse_range_mode(const std::string& s) {
    if (s == "last-batch" || s == "last_batch") return RangeMode::kLastBatch;
    if (s == "ema") return RangeMode::kEma;
    if (s == "fixed") return RangeMode::kFixed;
    if (s == "learned" || s == "lsq") return RangeMode::kLearned;
    return invalid_argument("range mode '", s, "' is not one of last-batch, ema, fixed, learned");
}

const char* quantizer_state_name(QuantizerState s) {
    switch (s) {
        case QuantizerState::kQuantize:
            return "quantize";
        case QuantizerState::kCalibrate:
            return "calibrate";
        case QuantizerState::kDisabled:
            return "disabled";
    }
    return "?";
}

Result<QuantizerOverride> parse_quantizer_override(const std::string& s) {
    const size_t eq = s.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == s.size())
        return invalid_argument("quantizer setting '", s, "' is not PATTERN=MODE (MODE: last-batch, ema, fixed, ",
                                "learned or disabled)");
    QuantizerOverride o;
    o.pattern = s.substr(0, eq);
    const std::string mode = s.substr(eq + 1);
    if (mode == "disabled" || mode == "off") {
        o.disabled = true;
        return o;
    }
    auto m = parse_range_mode(mode);
    if (!m.ok()) return invalid_argument("quantizer setting '", s, "': ", m.status().message(), " or disabled");
    o.mode = *m;
    return o;
}

}  // namespace qat::train
