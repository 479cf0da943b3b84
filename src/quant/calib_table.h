// Calibration table: activation tensor name -> range, as a JSON file that `qat calibrate` writes
// and `qat quantize --calib-table` reads back. Weights never appear: their ranges come from the
// weights themselves.
//
// Format (version 1; docs/QUANTIZE.md "Calibration table"):
//   {
//     "format": "qat.calibration_table",   // optional on read; always written
//     "version": 1,                          // optional on read; always written
//     "method": "entropy",                   // optional: default method of the entries
//     "model": "resnet20.onnx",              // optional, informative
//     "samples": 512,                        // optional, informative
//     "tensors": {
//       "input":  {"amax": 2.64, "scale": 0.020787, "method": "max"},
//       "relu_3": {"scale": 0.05},                            // amax = scale * 127
//       "add_1":  3.5,                                         // a bare number is the amax
//       "conv_2": {"amax": 4.0, "histogram": {"bins": 2048, "min": 0.0, "max": 6.1,
//                                             "counts": [..]}}  // optional summary
//     }
//   }
// Symmetric int8: scale = amax / 127. When both amax and scale are given they must agree
// (relative 1e-5). amax must be finite and >= 0; scale finite and > 0. Unknown keys are errors,
// so a typo never silently drops a range.
//
//   QAT_ASSIGN_OR_RETURN(CalibTable t, load_calib_table("calib.json"));
//   float amax = t.tensors.at("relu_3").amax;
//   QAT_RETURN_IF_ERROR(save_calib_table("calib.json", t));
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace qat::quant {

struct HistogramSummary {
    int64_t bins = 0;
    float min = 0.0f;
    float max = 0.0f;
    std::vector<int64_t> counts;  // may be empty (summary only)
};

struct CalibEntry {
    float amax = 0.0f;
    std::string method;  // empty: the table's method
    std::optional<HistogramSummary> histogram;
    float scale() const;  // amax / 127 (symmetric int8)
};

struct CalibTable {
    std::string method;
    std::string model;
    int64_t samples = 0;
    std::map<std::string, CalibEntry> tensors;

    // amax by tensor name (what the Q/DQ insertion consumes).
    std::map<std::string, float> amax_map() const;
};

inline constexpr const char* kCalibTableFormat = "qat.calibration_table";
inline constexpr int kCalibTableVersion = 1;

Result<CalibTable> parse_calib_table(const std::string& json_text, const std::string& what);
Result<CalibTable> load_calib_table(const std::string& path);
std::string serialize_calib_table(const CalibTable& table);
// Atomic write.
Status save_calib_table(const std::string& path, const CalibTable& table);

// Names in `needed` that the table lacks (in `needed`'s order).
std::vector<std::string> missing_tensors(const CalibTable& table, const std::vector<std::string>& needed);

}  // namespace qat::quant
