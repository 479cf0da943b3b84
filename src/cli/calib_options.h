// Option groups shared by `qat calibrate`, `qat compare`, `qat sensitivity` and the
// `--calib-data` hook of `qat quantize`: data sets (calibration and held-out), preprocessing,
// calibration method, and the backend the FP32 / QDQ graphs run on.
//
//   DataFlags calib{.split = "train", .samples = 512};
//   add_data_flags(sub, &calib, kCalibDataNames);
//   PreprocessFlags pre;  add_preprocess_flags(sub, &pre);
//   ... in the callback:
//   QAT_ASSIGN_OR_RETURN(OpenedData d, open_data(calib, kCalibDataNames, pre, *input, run_batch));
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/dataset.h"
#include "data/transforms.h"
#include "ir/graph.h"
#include "quant/calibrate.h"
#include "quant/calibrator.h"

namespace qat::cli {

// Flag names of one data group (the calibration set and the held-out set use different ones).
struct DataFlagNames {
    const char* data;     // "--data"
    const char* split;    // "--split"
    const char* samples;  // "--calib-samples"
    const char* role;     // "calibration", "evaluation" (messages and help)
};
inline constexpr DataFlagNames kCalibDataNames{"--data", "--split", "--calib-samples", "calibration"};
inline constexpr DataFlagNames kEvalDataNames{"--eval-data", "--eval-split", "--eval-samples", "evaluation"};
inline constexpr DataFlagNames kCompareDataNames{"--data", "--split", "--samples", "comparison"};

struct DataFlags {
    std::string data;
    std::string split = "train";
    int64_t samples = 512;  // 0: all
    uint64_t seed = 0;
};

struct PreprocessFlags {
    float scale = -1.0f;  // < 0: the data set's default (1/255 for pixels)
    std::vector<float> mean, std;
    std::string layout = "NCHW";
    bool to_rgb = false;
    std::string resize, crop;  // "S" or "HxW"; empty: none
};

struct RunFlags {
    std::vector<std::string> backends;
    int threads = 0;  // 0: every core
    int64_t batch = 32;
};

struct CalibFlags {
    std::string method = "entropy";
    double percentile = 99.99;
    int64_t bins = 2048;
    bool moving_average = false;
    double averaging_constant = 0.01;
};

void add_data_flags(CLI::App* sub, DataFlags* f, const DataFlagNames& names, bool seed = true);
void add_preprocess_flags(CLI::App* sub, PreprocessFlags* f);
void add_run_flags(CLI::App* sub, RunFlags* f);
// `prefix` lets `qat quantize` name them --calib-method, ... ("" gives --method, ...).
void add_calib_flags(CLI::App* sub, CalibFlags* f, const std::string& prefix = "");

Result<quant::RunOptions> make_run_options(const RunFlags& f);
// Checks the method and its parameters.
Result<quant::CalibratorOptions> make_calibrator_options(const CalibFlags& f, const std::string& prefix = "");
quant::ObserverOptions make_observer_options(const CalibFlags& f);

struct OpenedData {
    data::DatasetPtr dataset;  // the chosen subset
    data::DataSpec spec;
    data::Split split = data::Split::kTrain;
    std::vector<int64_t> indices;  // of the full split
    int64_t batch = 0;
    std::unique_ptr<quant::BatchSource> source;
};

// Opens the data set, picks `samples` samples with `seed` (excluding `exclude` indices: a held-
// out set drawn from the same split as the calibration set), and builds a loader whose batches
// fit `input` (its static batch dim when it has one). Errors name the flag, the file, and the
// model input with both shapes.
Result<OpenedData> open_data(const DataFlags& f, const DataFlagNames& names, const PreprocessFlags& pre,
                             const ir::Value& input, int64_t batch, const std::vector<int64_t>* exclude = nullptr);

// The held-out set for an accuracy budget / sensitivity: `eval` (its data defaults to the
// calibration set's --data); drawn outside the calibration samples when it names the same split.
Result<OpenedData> open_eval_data(DataFlags eval, const OpenedData* calib, const DataFlags& calib_flags,
                                  const PreprocessFlags& pre, const ir::Value& input, int64_t batch);

// ---- the --calib-data hook of `qat quantize` ----

struct CalibDataFlags {
    DataFlags data;  // data.data is --calib-data itself (declared by qat quantize)
    PreprocessFlags pre;
    CalibFlags calib{.method = "max"};
    RunFlags run;
};
// --calib-split --calib-samples --calib-seed --calib-method --calib-percentile --calib-bins
// --calib-moving-average --calib-averaging-constant --calib-batch and the preprocessing group.
void add_calib_data_flags(CLI::App* sub, CalibDataFlags* f);
// Checks the flags now; the returned function opens the data set when the placement asks for
// ranges (it needs the model's input) and observes the tensors in one pass.
Result<quant::ActivationRangeFn> make_calib_data_ranges(const std::string& calib_data, const CalibDataFlags& f,
                                                        bool quiet);

// Checks `path` is a readable regular file before a long run (missing model, a directory).
Status check_readable_file(const std::string& path, const std::string& what);

}  // namespace qat::cli
