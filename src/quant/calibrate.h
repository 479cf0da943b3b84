// The calibration driver: runs the FP32 graph on batches of data through runtime::Plan, fills an
// observer (observer.h) for every tensor that will feed a QuantizeLinear, and turns the observers
// into amax values (calibrator.h), a calibration table (calib_table.h) or new scales in a QDQ
// graph.
//
// One pass over the data fills every histogram: the graph runs once per batch and a NodeHook
// hands each node's outputs to the observers that want them. Graph inputs are observed from the
// batch itself, constants from their payload.
//
//   // Place Q/DQ and calibrate in one go (what `qat calibrate` does for a float model):
//   auto src = make_loader_source(std::move(loader), "fashion-mnist train");
//   CalibrationSession session(src.get(), {.run = {.backends = {"onednn"}}});
//   quant::QuantizeOptions q;
//   q.activation_ranges = session.range_fn({.method = CalibMethod::kEntropy});
//   QAT_ASSIGN_OR_RETURN(auto summary, quantize_graph(graph, q));
//
//   // Recalibrate a model that already holds Q/DQ nodes:
//   QAT_ASSIGN_OR_RETURN(auto fp32, strip_qdq_copy(qdq_graph));
//   QAT_RETURN_IF_ERROR(recalibrate_activations(qdq_graph, *fp32, session, calib));
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "data/loader.h"
#include "ir/graph.h"
#include "quant/calib_table.h"
#include "quant/calibrator.h"
#include "quant/observer.h"
#include "quant/quantize.h"
#include "runtime/plan.h"

namespace qat::quant {

// ---- data -----------------------------------------------------------------------------------

// Batches for a one-input model; every pass gives the same samples in the same order.
class BatchSource {
  public:
    virtual ~BatchSource() = default;
    virtual int64_t num_samples() const = 0;
    // Starts a new pass.
    virtual Status rewind() = 0;
    // The next batch: images (float32, batch first) and labels (i64 [B], -1 for unlabeled
    // samples; may be left undefined). False at the end of the pass.
    virtual Result<bool> next(Tensor* images, Tensor* labels) = 0;
    // "fashion-mnist train: 512 samples" (for reports).
    virtual std::string description() const = 0;
};

// Over a data::Loader (batches keep the loader's order; each pass is epoch 0 again).
std::unique_ptr<BatchSource> make_loader_source(std::unique_ptr<data::Loader> loader, std::string description);
// Over batches held in memory (tests, tools). labels may be empty or one per batch.
std::unique_ptr<BatchSource> make_tensor_source(std::vector<Tensor> batches, std::vector<Tensor> labels = {},
                                                std::string description = "in-memory batches");

// ---- running a graph on batches ---------------------------------------------------------------

struct RunOptions {
    std::vector<std::string> backends;  // empty: every available backend (fastest first)
    int threads = 1;
};

// A Plan for a one-input graph. A model whose input has a static batch dim B takes batches of
// at most B samples; a shorter last batch is zero-padded and hooks are told how many rows are
// real.
class GraphRunner {
  public:
    // Hook with the number of real rows of the batch (dim 0) in the tensors it sees.
    using Hook = std::function<Status(const ir::Node&, const std::vector<Tensor>& outputs, int64_t rows)>;

    // `what` names the graph in messages ("model.onnx").
    static Result<std::unique_ptr<GraphRunner>> create(const ir::Graph& graph, const RunOptions& options,
                                                       const std::string& what = "model");
    const ir::Value& input() const { return *input_; }
    const std::string& input_name() const { return input_->name(); }
    // Static batch dim of the input (0 when dynamic or unknown).
    int64_t fixed_batch() const { return fixed_batch_; }
    // Graph outputs in order (first `rows` rows are real).
    Result<std::vector<Tensor>> run(const Tensor& batch, const Hook& hook = nullptr);
    runtime::Plan& plan() { return *plan_; }

  private:
    std::unique_ptr<runtime::Plan> plan_;
    const ir::Value* input_ = nullptr;
    std::string what_;
    int64_t fixed_batch_ = 0;
    Tensor padded_;
};

// The one graph input that is not an initializer; error naming the model when there are several.
Result<const ir::Value*> single_input(const ir::Graph& graph, const std::string& what);

// ---- observing ---------------------------------------------------------------------------------

using ObserverMap = std::map<std::string, TensorObserver>;

struct CollectOptions {
    RunOptions run;
    ObserverOptions observer;
    bool quiet = true;  // no progress bar
    std::string label = "calibrate";
};

// One pass over `source` through `graph`, observing `tensors` (graph inputs, node outputs or
// constants; each must exist). `extra` are observed too when they turn out float (the TensorRT
// cache wants every activation) and silently skipped otherwise. Errors: an empty source, a
// tensor missing from the graph or never computed, a non-float tensor in `tensors`.
Result<ObserverMap> collect_observers(const ir::Graph& graph, const std::vector<std::string>& tensors,
                                      BatchSource& source, const CollectOptions& options,
                                      const std::vector<std::string>& extra = {});

// Graph inputs and node outputs whose dtype is float (or unknown), topological order: every
// tensor an implicitly quantizing engine (TensorRT with a calibration cache) may ask a range of.
std::vector<std::string> float_activation_tensors(const ir::Graph& graph);

// Keeps observers across calls so that trying several placements (mixed precision,
// sensitivity) reads the data once per new tensor, not once per try. Observers belong to one
// graph structure: a graph that differs (e.g. BN folded or not) starts a fresh set.
class CalibrationSession {
  public:
    CalibrationSession(BatchSource* source, CollectOptions options);

    // Observes the `tensors` of `float_graph` not observed yet (one data pass, only when some
    // are missing). With observe_all, every float activation joins the first pass.
    Status observe(const ir::Graph& float_graph, const std::vector<std::string>& tensors);
    void set_observe_all(bool on) { observe_all_ = on; }

    // amax per tensor with `calib` (cached per method); every tensor must have been observed.
    Result<std::map<std::string, float>> amax(const std::vector<std::string>& tensors, const CalibratorOptions& calib);
    // The table for `tensors` (all observed ones when empty): amax, scale, method and a
    // histogram summary (bins, range; the counts too with with_counts).
    Result<CalibTable> table(const std::vector<std::string>& tensors, const CalibratorOptions& calib, bool with_counts);
    // QuantizeOptions::activation_ranges: observe the tensors the placement asks for, then amax.
    ActivationRangeFn range_fn(const CalibratorOptions& calib);

    // Observers of the current graph.
    const ObserverMap& observers() const { return observers_; }
    // The float graph last observed (nullptr before the first observe()).
    const ir::Graph* graph() const { return graph_.get(); }
    // Data passes so far; samples per pass.
    int64_t passes() const { return passes_; }
    int64_t samples() const { return source_->num_samples(); }
    BatchSource& source() { return *source_; }
    const CollectOptions& options() const { return options_; }

  private:
    BatchSource* source_;
    CollectOptions options_;
    bool observe_all_ = false;
    std::string fingerprint_;
    std::unique_ptr<ir::Graph> graph_;
    ObserverMap observers_;
    std::map<std::string, std::map<std::string, float>> amax_cache_;  // method key -> tensor -> amax
    int64_t passes_ = 0;
};

// A string that changes when the graph's structure (nodes, names, wiring) changes.
std::string graph_fingerprint(const ir::Graph& graph);
// Cache key of calibrator options ("entropy", "percentile:99.99", "max:ema0.01").
std::string calibrator_key(const CalibratorOptions& calib, const ObserverOptions& observer);

// ---- models that already hold Q/DQ -----------------------------------------------------------

// Inputs of the QuantizeLinear nodes that are not constants (activations), in node order, once
// each.
std::vector<std::string> qdq_activation_tensors(const ir::Graph& graph);
// A copy of `graph` with its Q/DQ nodes removed (passes/quant/strip_qdq.h): the FP32 graph whose
// tensors the Q nodes read, under the same names.
Result<std::unique_ptr<ir::Graph>> strip_qdq_copy(const ir::Graph& graph);
// Writes scale = amax / 127 into every activation QuantizeLinear and the DequantizeLinear nodes
// that read it; Q nodes feeding one Concat that shared a scale keep sharing it (the largest
// amax); weights quantized in float form (constant -> Q -> DQ) get their per-channel max again.
// Clears the uncalibrated marker. Refuses (naming the node) a Q with a non-int8 or non-zero zero
// point, or per-axis activation scales.
Status set_activation_scales(ir::Graph& graph, const std::map<std::string, float>& amax);
// New scales for every activation Q/DQ of `qdq_graph`: observes its qdq_activation_tensors() in
// `fp32_graph` (strip_qdq_copy of it) through `session`, then set_activation_scales().
Status recalibrate_activations(ir::Graph& qdq_graph, const ir::Graph& fp32_graph, CalibrationSession& session,
                               const CalibratorOptions& calib);

}  // namespace qat::quant
