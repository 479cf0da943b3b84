// quantize_graph: the library behind `qat quantize` — takes a float graph to a Q/DQ graph,
// TensorRT style (the C++ counterpart of the reference toolkit's quantize_model()).
//
// Steps (the pass order lives in passes/pipelines.cpp, "Q/DQ placement"):
//   1. existing Q/DQ: refused, or stripped with `requantize`;
//   2. optional BN folding into the preceding Conv (`fold_bn`; off by default like the
//      reference toolkit: per-channel weight scales make folding at build time exact);
//   3. plan: policy table (full mode), QuantSpec, preset cases + extra cases;
//   4. activation ranges: calibration table, else the `activation_ranges` hook (`--calib-data`,
//      provided by the calibration module), else placeholder scales and the model is marked
//      uncalibrated (metadata "qat.uncalibrated" = "1"; see calibrated.h);
//   5. insert Q/DQ (weights int8 or float, scales from the weights).
// The graph must be opset >= 13 (per-channel Q/DQ needs the `axis` attribute): the CLI
// upgrades older models with onnx/version_convert.h first.
//
//   quant::QuantizeOptions opt;
//   opt.preset = "resnet_v1";
//   QAT_ASSIGN_OR_RETURN(opt.calib_table, quant::load_calib_table("calib.json"));
//   QAT_ASSIGN_OR_RETURN(quant::QuantizeSummary s, quant::quantize_graph(graph, opt));
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"
#include "passes/quant/insert_qdq.h"
#include "passes/quant/qdq_case.h"
#include "quant/calib_table.h"
#include "quant/placement.h"
#include "quant/quant_spec.h"

namespace qat::quant {

// Activation ranges from data (`--calib-data`): given the float graph (as it will be quantized)
// and the activation tensors the plan quantizes, return amax per tensor name.
using ActivationRangeFn = std::function<Result<std::map<std::string, float>>(const ir::Graph& float_graph,
                                                                             const std::vector<std::string>& tensors)>;

// Scale of an activation Q/DQ in an uncalibrated model. Deliberately a round, obviously
// artificial value: it is never meant to be used for inference (build/eval refuse the model).
inline constexpr float kPlaceholderScale = 1.0f;

struct QuantizeOptions {
    // Unset: the spec's "mode", else full.
    std::optional<QuantMode> mode;
    // Unset: "auto" in full mode, "none" in partial mode (partial means "only what I name").
    std::optional<std::string> preset;
    // Built-in cases turned on one by one (`--case residual_add`), after the preset's.
    std::vector<std::string> cases;
    // The user's own cases (C++), run last.
    passes::quant::QdqCaseList extra_cases;
    QuantSpec spec;
    const PolicyTable* policy = nullptr;  // nullptr: default_policy_table()
    bool fold_bn = false;
    bool requantize = false;
    passes::quant::WeightFormat weights = passes::quant::WeightFormat::kInt8;
    std::optional<CalibTable> calib_table;
    std::string calib_table_name = "calibration table";  // names the table in messages (its path)
    ActivationRangeFn activation_ranges;
    // ir::verify after every pass.
    bool verify = true;
};

// The placement choices as strings (command-line flags, public C++ API fields), checked and
// turned into QuantizeOptions in one place. `labels` name each field in messages ("--preset" on
// the command line, "QuantizeOptions::preset" in the C++ API); calibration fields are left to the
// caller.
struct PlacementChoices {
    std::string spec_file;
    std::string mode;
    std::string preset;
    std::vector<std::string> cases;
    std::vector<std::string> include;
    std::vector<std::string> exclude;
    std::string weights = "int8";
    bool fold_bn = false;
    bool requantize = false;
};
struct PlacementLabels {
    std::string mode, preset, cases, weights, include, exclude;
    std::string named_by;  // what can name nodes in partial mode, for the "nothing is named" message
};
Result<QuantizeOptions> make_quantize_options(const PlacementChoices& c, const PlacementLabels& labels);

struct QuantizeSummary {
    QuantMode mode = QuantMode::kFull;
    std::string preset;
    std::vector<std::string> cases;         // case names that ran, in order
    std::vector<std::string> case_matches;  // "residual_add: Add 'add1'"
    int stripped_qdq_nodes = 0;
    int activation_qdq = 0;
    int weight_qdq = 0;
    std::string ranges;  // "calibration table", "calibration data", "placeholder (uncalibrated)"
    bool calibrated = false;
    std::vector<std::string> placeholder_tensors;
    std::vector<FloatNode> float_nodes;
    std::map<std::string, double> pass_ms;
};

Result<QuantizeSummary> quantize_graph(ir::Graph& graph, QuantizeOptions& options);

// Human-readable summary (several lines) and one JSON object.
std::string format_quantize_summary(const QuantizeSummary& s);
std::string quantize_summary_json(const QuantizeSummary& s);

}  // namespace qat::quant
