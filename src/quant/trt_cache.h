// TensorRT calibration cache (text form), for users who build with `trtexec --calib=FILE` or
// load the cache from an IInt8Calibrator's readCalibrationCache().
//
//   TRT-8601-EntropyCalibration2
//   input: 3c010204
//   conv1_out: 3d2c8b44
//
// Line 1 is the header "TRT-<version>-<calibrator>" (version 8601 = TensorRT 8.6.1). Every
// further line is "<tensor name>: <scale>", the scale (amax / 127) written as the 8 hex digits of
// its IEEE-754 float32 bits, most significant byte first (big-endian), lower case; that is what
// TensorRT writes and what Polygraphy reads with struct.unpack("!f", bytes.fromhex(v)).
//
// TensorRT compares the header's calibrator with the one it runs and ignores a cache made by
// another; trtexec's --calib uses IInt8EntropyCalibrator2, so the default header says
// EntropyCalibration2 whatever method computed the ranges (pass another with `header`).
//
//   TrtCache c;
//   c.entries.push_back({"input", 2.64f / 127});
//   QAT_RETURN_IF_ERROR(save_trt_cache("calib.cache", c));
//   QAT_ASSIGN_OR_RETURN(TrtCache back, load_trt_cache("calib.cache"));
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace qat::quant {

inline constexpr const char* kDefaultTrtCacheHeader = "TRT-8601-EntropyCalibration2";

struct TrtCacheEntry {
    std::string tensor;
    float scale = 0.0f;
};

struct TrtCache {
    std::string header = kDefaultTrtCacheHeader;
    std::vector<TrtCacheEntry> entries;  // in file order
};

// "3c010204" for the float whose bits are 0x3c010204.
std::string float_to_be_hex(float v);
// Inverse; error (naming `where`) unless exactly 8 hex digits.
Result<float> be_hex_to_float(const std::string& hex, const std::string& where);

std::string serialize_trt_cache(const TrtCache& cache);
// Header must start with "TRT-"; each line "name: 8 hex digits" (the name may itself contain
// ':' — the last one separates); scales finite and >= 0; duplicate names are errors. Empty
// lines are ignored. Errors name `what` and the line number.
Result<TrtCache> parse_trt_cache(const std::string& text, const std::string& what);
Result<TrtCache> load_trt_cache(const std::string& path);
// Atomic write.
Status save_trt_cache(const std::string& path, const TrtCache& cache);

}  // namespace qat::quant
