// qat public API: post-training quantization, TensorRT style.
//
// quantize() places QuantizeLinear / DequantizeLinear pairs in an FP32 model (inputs and weights
// of Conv, Gemm, MatMul, ... by the default policy, plus pattern cases such as residual Add);
// weights get their per-channel scales at once. Activation scales need data: calibrate() runs
// the FP32 model on a calibration set and sets them (entropy, max, percentile or mse). A model
// quantized without calibration is marked uncalibrated and no engine is built from it.
//
//   qat::api::Model m = ...;                              // Model::load("model.onnx")
//   qat::api::QuantizeOptions q;  q.preset = "resnet_v1";
//   if (auto r = qat::api::quantize(m, q); !r.ok()) return fail(r.status());
//   qat::api::DataSpec calib;    calib.source = "fashion-mnist";  calib.samples = 512;
//   qat::api::CalibrateOptions c; c.method = "entropy";
//   if (auto r = qat::api::calibrate(m, calib, c); !r.ok()) return fail(r.status());
//   m.save("model_int8.onnx");                            // a Q/DQ ONNX model, as ONNX Runtime reads it
//
// calibrate() on an FP32 model places Q/DQ itself (with CalibrateOptions::placement) and
// calibrates in one go. Both leave the model unchanged when they fail.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "qat/data.h"
#include "qat/model.h"
#include "qat/status.h"

namespace qat::api {

struct QuantizeOptions {
    // "full" (default placement, spec and filters revise it) or "partial" (only what the spec,
    // include, preset or cases name); empty: the spec's mode, else full.
    std::string mode;
    // Pattern cases: "auto" (default in full mode), "none", "resnet_v1", "resnet_v2",
    // "efficientnet", "mobilenet", "inception"; empty: the mode's default.
    std::string preset;
    std::vector<std::string> cases;    // extra cases: residual_add, bn_input, maxpool_input, se_mul, ...
    std::vector<std::string> include;  // quantize these nodes: a node-name glob, or "op:TYPE"
    std::vector<std::string> exclude;  // keep these nodes float: a node-name glob, or "op:TYPE"
    std::string spec_file;             // QuantSpec JSON file (per-node overrides)
    std::string calib_table_file;      // activation ranges from a calibration table (JSON)
    bool fold_bn = false;              // fold BatchNormalization into the preceding Conv first
    bool requantize = false;           // strip the model's existing Q/DQ and place them again
    std::string weights = "int8";      // "int8" (int8 initializer -> DQ) or "float" (float -> Q -> DQ)
};

struct QuantizeReport {
    int activation_qdq = 0;   // Q/DQ pairs on activations
    int weight_qdq = 0;       // on weights
    bool calibrated = false;  // false: placeholder activation scales, calibrate() next
    std::string summary;      // several lines, as `qat quantize` prints them
};

// Places Q/DQ in `model` (in place). Errors: a bad option (naming it), a model that already
// holds Q/DQ (unless requantize), an unreadable spec or table.
Result<QuantizeReport> quantize(Model& model, const QuantizeOptions& options = {});

struct CalibrateOptions {
    std::string method = "entropy";     // "entropy", "max", "percentile" or "mse"
    double percentile = 99.99;          // for "percentile"
    int64_t bins = 2048;                // histogram bins per tensor
    int64_t batch = 32;                 // calibration batch (a model with a fixed batch uses its own)
    int threads = 0;                    // kernel threads; 0: every core
    std::vector<std::string> backends;  // where the FP32 graph runs ("onednn", "ref"); empty: all
    // For an FP32 model: how Q/DQ are placed before calibration. A model that already holds
    // Q/DQ keeps its placement and gets new activation scales (unless placement.requantize).
    QuantizeOptions placement;
    bool quiet = true;  // no progress bar on stderr
};

struct CalibrateReport {
    std::string method;  // "entropy", "percentile:99.99", ...
    std::string data;    // "fashion-mnist train: 512 samples"
    int64_t samples = 0;
    int64_t tensors = 0;        // activation tensors given a scale
    bool recalibrated = false;  // true: the model's own Q/DQ placement was kept
};

// Calibrates `model` (in place) on `data`. The model needs exactly one input, which the data
// set's samples (after preprocessing) must fit: a mismatch names both shapes.
Result<CalibrateReport> calibrate(Model& model, const DataSpec& data, const CalibrateOptions& options = {});

}  // namespace qat::api
