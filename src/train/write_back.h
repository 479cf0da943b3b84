// Write-back: the result of training goes into the ONNX graph it came from, so the normal
// exporter writes it and every other qat command (eval, build, run) reads it.
//
//   - float parameters (Conv / Gemm / MatMul weights and biases, BN scale and bias) replace their
//     initializers; BN running mean / var too;
//   - int8-stored weights (constant -> DequantizeLinear) are quantized again from the trained
//     float weights with their final per-channel scales: round half to even, narrow range
//     [-127, 127] (the same rule as `qat quantize`); int32-stored biases with their scale;
//   - float-form weight Q/DQ pairs and activation Q/DQ pairs get their final scales (a scale value
//     shared with nodes outside the pair is not edited: the pair gets a fresh initializer);
//   - when every activation quantizer has a real range, the "uncalibrated" marker goes.
//
//   train::TrainedState s = ...;            // from the trainer (plain tensors, no libtorch)
//   QAT_RETURN_IF_ERROR(train::write_back(graph, s));
//   QAT_RETURN_IF_ERROR(onnx::save_model(graph, "model_qat.onnx"));
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace qat::train {

struct TrainedParam {
    std::string name;     // initializer (float, or int8 / int32 behind `dq_node`)
    Tensor value;         // float32, the initializer's dims
    std::string dq_node;  // set for stored-quantized parameters
};

struct TrainedQuantizer {
    std::string node;  // QuantizeLinear (or, for int8-stored weights, DequantizeLinear) node name
    bool weight = false;
    bool disabled = false;
    bool initialized = true;   // false: an activation quantizer that never saw a range
    std::vector<float> scale;  // final scale(s)
    int64_t axis = -1;
    int64_t qmin = -128, qmax = 127;
    int64_t zero_point = 0;
};

struct TrainedState {
    std::vector<TrainedParam> params;
    std::vector<std::pair<std::string, Tensor>> buffers;
    std::vector<TrainedQuantizer> quantizers;
};

// Writes `state` into `graph` (by names; the graph the module was built from, or a copy of it).
// Errors name the missing or mismatching node / initializer.
Status write_back(ir::Graph& graph, const TrainedState& state);

}  // namespace qat::train
