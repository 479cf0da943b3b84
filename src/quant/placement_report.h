// Placement report of a Q/DQ model (`qat inspect --quant`): for each Conv / ConvTranspose / Gemm /
// MatMul whether its input and weight are quantized and whether its output reaches a Q (INT8
// out) or stays float and why; which residual Adds can fuse with their Conv; and warnings for
// placements that block INT8 fusion:
//   - Q/DQ on both inputs of a residual Add (the Conv cannot absorb the Add);
//   - Q/DQ on a weighted layer's output feeding an op with no INT8 form (dequantized at once);
//   - a weighted layer with a float input (it runs in FP32);
//   - Concat inputs with different scales, or a mix of INT8 and float inputs;
//   - a QuantizeLinear without a DequantizeLinear after it.
// It reads the graph only (what an engine would see), so it works on any Q/DQ ONNX model, not
// just ours.
//
//   PlacementReport r = analyze_placement(graph);
//   std::cout << format_placement_report(r);           // or placement_report_json(r)
#pragma once

#include <string>
#include <vector>

#include "ir/graph.h"

namespace qat::quant {

struct LayerPlacement {
    std::string node;
    std::string op_type;
    bool input_quantized = false;           // every activation input comes from a DequantizeLinear
    std::vector<std::string> float_inputs;  // activation inputs without Q/DQ
    bool has_weight = false;
    bool weight_quantized = false;
    bool weight_per_channel = false;
    int weight_axis = -1;
    bool int8_output = false;
    std::string output;              // "INT8: Q 'y_QuantizeLinear' after Relu 'r'" / "float: ..."
    std::vector<std::string> fused;  // ops an INT8 kernel absorbs: BN, activation, residual Add
};

struct ResidualAdd {
    std::string node;
    bool fusable = false;
    std::string conv;  // the Conv branch's weighted node
    std::string detail;
};

struct PlacementReport {
    int quantize_nodes = 0;
    int dequantize_nodes = 0;
    bool uncalibrated = false;
    std::vector<LayerPlacement> layers;
    std::vector<ResidualAdd> residual_adds;
    std::vector<std::string> warnings;
};

PlacementReport analyze_placement(const ir::Graph& graph);
// A table plus the residual Adds and the warnings.
std::string format_placement_report(const PlacementReport& report);
// One JSON object: {"quantize_nodes", "dequantize_nodes", "uncalibrated", "layers": [...],
// "residual_adds": [...], "warnings": [...]}.
std::string placement_report_json(const PlacementReport& report, int indent = 2);

}  // namespace qat::quant
