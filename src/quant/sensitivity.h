// Layer sensitivity and mixed precision to an accuracy budget (`qat sensitivity`,
// `qat calibrate --accuracy-budget / --sqnr-budget`).
//
// Everything here evaluates *variants* of one float model: the same placement options and the
// same calibration observers (one CalibrationSession, so the data is read once per tensor), with
// some layers forced to stay float or only one layer quantized. A variant is built with
// quantize_graph (quant/quantize.h) and a QuantSpec entry per layer, and evaluated on a
// held-out set against the FP32 model's outputs (Evaluator):
//
//   top-1 accuracy (needs labels), output SQNR against FP32 (dB), top-1 agreement with FP32.
//
// Sensitivity, per quantized layer L (a node that reads a DequantizeLinear in the fully
// quantized model, quantized_layer_nodes):
//   only L      quantize L alone (partial mode, no pattern cases): the damage L does by itself;
//   all but L   quantize everything except L: what returning L to float buys back.
// Layers are ranked most damaging first: by the metric with only L quantized (lowest first),
// then by what leaving L out recovers, then by the SQNR with only L quantized.
//
// Mixed precision (greedy, as NNCF's / Model Optimizer's accuracy-aware quantization): when the
// fully quantized model misses the budget, return layers to float in sensitivity order, one at a
// time, re-evaluating after each, until the budget holds. The budget is percentage points of
// top-1 below FP32 (accuracy) or a minimum output SQNR in dB (sqnr). The report gives the layers
// left float and the INT8 coverage (share of the multiply-accumulates of Conv / ConvTranspose /
// Gemm / MatMul that run with both inputs quantized) before and after.
//
//   QAT_ASSIGN_OR_RETURN(auto ev, Evaluator::create(*fp32, held_out.get(), run));
//   BudgetOptions b{.metric = Metric::kAccuracy, .budget = 0.5};
//   QAT_ASSIGN_OR_RETURN(auto mp, search_mixed_precision(*fp32, factory, session, calib, *ev, b));
//   mp.graph;          // the QDQ model that meets the budget
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"
#include "quant/calibrate.h"
#include "quant/quantize.h"

namespace qat::quant {

enum class Metric { kAccuracy, kSqnr };
const char* metric_name(Metric m);  // "accuracy", "sqnr"
Result<Metric> parse_metric(const std::string& s);

struct EvalResult {
    int64_t samples = 0;
    bool labeled = false;
    double top1 = 0;       // percent (labeled sets only)
    double sqnr_db = 0;    // first output against FP32 (inf: identical)
    double agreement = 0;  // percent of samples whose argmax matches FP32's
};

// The value a metric ranks by (higher is better): top-1, or SQNR capped at 200 dB.
double metric_value(const EvalResult& r, Metric m);
// "top-1 91.20%" / "SQNR 35.1 dB"
std::string format_metric(const EvalResult& r, Metric m);

class Evaluator {
  public:
    // Runs the FP32 graph once over `source` (kept by pointer; it must outlive the evaluator),
    // keeps its first output per batch, the labels and the dims of every tensor (for MACs).
    // `check_classes` (optional) is called with the class count of the first output before any
    // label is used (so the caller can name the data file of a bad label).
    static Result<std::unique_ptr<Evaluator>> create(const ir::Graph& fp32, BatchSource* source, const RunOptions& run,
                                                     bool quiet = true,
                                                     std::function<Status(int64_t classes)> check_classes = nullptr);
    const EvalResult& fp32() const { return fp32_; }
    int64_t classes() const { return classes_; }
    // Evaluates a variant (a QDQ graph of the same model). `label` names the progress bar.
    Result<EvalResult> evaluate(const ir::Graph& graph, const std::string& label = "evaluate");
    // Per-sample MACs of each Conv / ConvTranspose / Gemm / MatMul of `graph`, by node name,
    // from the tensor dims seen in the FP32 run (node names and tensor names are shared by the
    // float model and its QDQ variants).
    std::map<std::string, int64_t> layer_macs(const ir::Graph& graph) const;
    int64_t evaluations() const { return evaluations_; }

  private:
    Evaluator() = default;
    BatchSource* source_ = nullptr;
    RunOptions run_;
    bool quiet_ = true;
    std::vector<Tensor> ref_out_;  // per batch, first output (real rows only)
    std::vector<Tensor> labels_;   // per batch (undefined when unlabeled)
    std::map<std::string, std::vector<int64_t>> dims_;
    int64_t classes_ = 0;
    EvalResult fp32_;
    int64_t evaluations_ = 0;
};

struct Int8Coverage {
    int64_t int8_macs = 0;
    int64_t total_macs = 0;
    double percent() const {
        return total_macs ? 100.0 * static_cast<double>(int8_macs) / static_cast<double>(total_macs) : 0.0;
    }
};
// MACs of the weighted ops of `qdq` whose inputs 0 and 1 both read a DequantizeLinear.
Int8Coverage int8_coverage(const ir::Graph& qdq, const std::map<std::string, int64_t>& macs);

// Fresh QuantizeOptions for each variant (the placement options of the command line).
using QuantizeOptionsFactory = std::function<Result<QuantizeOptions>()>;

struct VariantSpec {
    std::set<std::string> float_layers;     // nodes kept float (inputs and weights)
    std::optional<std::string> only_layer;  // quantize this node alone
};
// Quantizes a copy of `float_model` with `factory`'s options, the session's ranges and `v`.
Result<std::unique_ptr<ir::Graph>> build_variant(const ir::Graph& float_model, const QuantizeOptionsFactory& factory,
                                                 CalibrationSession& session, const CalibratorOptions& calib,
                                                 const VariantSpec& v, QuantizeSummary* summary = nullptr);

// A node name as a QuantSpec pattern that matches exactly that name (glob characters escaped).
std::string exact_name_pattern(const std::string& name);

struct LayerSensitivity {
    std::string layer;
    std::string op_type;
    int64_t macs = 0;
    std::optional<EvalResult> only;     // only this layer quantized
    std::optional<EvalResult> all_but;  // everything but this layer quantized
};

struct SensitivityOptions {
    Metric metric = Metric::kAccuracy;
    bool only = true;
    bool all_but = true;
    bool quiet = true;
};

struct SensitivityReport {
    Metric metric = Metric::kAccuracy;
    EvalResult fp32, int8;
    Int8Coverage coverage;                 // of the fully quantized model
    std::vector<LayerSensitivity> layers;  // most damaging first
};

Result<SensitivityReport> analyze_sensitivity(const ir::Graph& float_model, const QuantizeOptionsFactory& factory,
                                              CalibrationSession& session, const CalibratorOptions& calib,
                                              Evaluator& evaluator, const SensitivityOptions& options);

std::string format_sensitivity_report(const SensitivityReport& r);
std::string sensitivity_report_json(const SensitivityReport& r);

struct BudgetOptions {
    Metric metric = Metric::kAccuracy;
    double budget = 0.5;  // accuracy: max top-1 drop in points; sqnr: min output SQNR in dB
    bool quiet = true;
};

struct MixedPrecisionResult {
    Metric metric = Metric::kAccuracy;
    double budget = 0;
    EvalResult fp32, full_int8, final;
    Int8Coverage full_coverage, final_coverage;
    std::vector<std::string> float_layers;  // in the order they went back to float
    bool met = false;
    std::vector<std::string> steps;    // one line per evaluated variant
    std::unique_ptr<ir::Graph> graph;  // the chosen QDQ model
    QuantizeSummary summary;
    std::optional<SensitivityReport> sensitivity;  // when layers had to go back to float
};

// True when `r` meets the budget against `fp32`.
bool meets_budget(const EvalResult& fp32, const EvalResult& r, const BudgetOptions& b);

Result<MixedPrecisionResult> search_mixed_precision(const ir::Graph& float_model, const QuantizeOptionsFactory& factory,
                                                    CalibrationSession& session, const CalibratorOptions& calib,
                                                    Evaluator& evaluator, const BudgetOptions& options);

std::string format_mixed_precision(const MixedPrecisionResult& r);

}  // namespace qat::quant
