#include "quant/trt_cache.h"

#include <cmath>
#include <cstring>
#include <set>
#include <sstream>

#include "core/file_util.h"

namespace qat::quant {

std::string float_to_be_hex(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    static const char* kHex = "0123456789abcdef";
    std::string s(8, '0');
    for (int i = 7; i >= 0; --i) {
        s[static_cast<size_t>(i)] = kHex[bits & 0xF];
        bits >>= 4;
    }
    return s;
}

Result<float> be_hex_to_float(const std::string& hex, const std::string& where) {
    if (hex.size() != 8) return invalid_argument(where, ": expected 8 hex digits, got '", hex, "'");
    uint32_t bits = 0;
    for (char c : hex) {
        uint32_t d;
        if (c >= '0' && c <= '9') {
            d = static_cast<uint32_t>(c - '0');
        } else if (c >= 'a' && c <= 'f') {
            d = static_cast<uint32_t>(c - 'a' + 10);
        } else if (c >= 'A' && c <= 'F') {
            d = static_cast<uint32_t>(c - 'A' + 10);
        } else {
            return invalid_argument(where, ": '", hex, "' is not hexadecimal");
        }
        bits = (bits << 4) | d;
    }
    float v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
}

std::string serialize_trt_cache(const TrtCache& c) {
    std::string s = c.header + "\n";
    for (const auto& e : c.entries) s += e.tensor + ": " + float_to_be_hex(e.scale) + "\n";
    return s;
}

Result<TrtCache> parse_trt_cache(const std::string& text, const std::string& what) {
    TrtCache c;
    c.header.clear();
    std::istringstream in(text);
    std::string line;
    int64_t lineno = 0;
    std::set<std::string> seen;
    while (std::getline(in, line)) {
        ++lineno;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (lineno == 1) {
            if (line.rfind("TRT-", 0) != 0)
                return invalid_argument(what,
                                        ": line 1 is not a TensorRT calibration cache header (expected "
                                        "\"TRT-<version>-<calibrator>\", got '",
                                        line.substr(0, 60), "')");
            c.header = line;
            continue;
        }
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        std::string where = what + " line " + std::to_string(lineno);
        size_t colon = line.rfind(':');
        if (colon == std::string::npos || colon == 0)
            return invalid_argument(where, ": expected \"<tensor>: <8 hex digits>\", got '", line.substr(0, 80), "'");
        std::string name = line.substr(0, colon);
        std::string hex = line.substr(colon + 1);
        size_t b = hex.find_first_not_of(" \t");
        hex = b == std::string::npos ? std::string() : hex.substr(b);
        while (!hex.empty() && (hex.back() == ' ' || hex.back() == '\t')) hex.pop_back();
        QAT_ASSIGN_OR_RETURN(float scale, be_hex_to_float(hex, where));
        if (!std::isfinite(scale) || scale < 0.0f)
            return invalid_argument(where, ": scale of '", name, "' is ", scale, " (must be finite and >= 0)");
        if (!seen.insert(name).second) return invalid_argument(where, ": tensor '", name, "' appears twice");
        c.entries.push_back({name, scale});
    }
    if (lineno == 0) return invalid_argument(what, ": empty file (expected a TensorRT calibration cache)");
    return c;
}

Result<TrtCache> load_trt_cache(const std::string& path) {
    QAT_ASSIGN_OR_RETURN(std::string text, read_file(path));
    return parse_trt_cache(text, path);
}

Status save_trt_cache(const std::string& path, const TrtCache& c) {
    return write_file_atomic(path, serialize_trt_cache(c));
}

}  // namespace qat::quant
