// The qat INT8 engine: a graph run through the engine pipeline (passes/pipelines.h: constant
// folding, BN folding, Q/DQ propagation and fusion into com.qat ops) and compiled into a
// runtime::Plan on the chosen backends.
//
//   QAT_ASSIGN_OR_RETURN(auto graph, onnx::load_model("model_qdq.onnx"));
//   QAT_ASSIGN_OR_RETURN(engine::Engine e, engine::build_engine(*graph, {.threads = 2, .batch = 16}));
//   QAT_ASSIGN_OR_RETURN(std::vector<Tensor> outs, e.run({input}));
//   for (const auto& st : e.steps()) ...;            // node, backend, refusals (qat explain)
//
// Every command that takes "a model" (run, eval, bench, explain) accepts an .onnx file (built on
// the fly) or an .engine file (engine_file.h) through open_model_or_engine().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "engine/image_choice.h"
#include "engine/layout_choice.h"
#include "engine/thread_choice.h"
#include "ir/graph.h"
#include "runtime/plan.h"

namespace qat::engine {

// The qat release that builds and reads engine files ("0.1.0").
const char* qat_version();

struct EngineOptions {
    // Backends the plan may use (e.g. {"onednn"} or {"ref"}); empty: every available one, in
    // priority order (the reference backend always last, as the fallback).
    std::vector<std::string> backends;
    // Threads for the kernels; 0: every core of the machine.
    int threads = 0;
    // 0: dynamic batch (the inputs' symbolic batch dims stay symbolic; kernels re-prepare when
    // the batch changes); > 0: the batch dim of every input is fixed to this at build time.
    int64_t batch = 0;
    // Lower Q/DQ groups to INT8 ops (off: FP32 clean-ups only; for comparisons).
    bool fuse_int8 = true;
    // Layout of the FP32 convolutions on oneDNN (layout_choice.h): kAuto times the candidates at
    // build time; a built engine holds the resolved choice (kBackend or kBlocked).
    Fp32Layout fp32_layout = Fp32Layout::kAuto;
    // Which steps run on one thread whatever `threads` says (thread_choice.h): kAuto times them
    // at build time (then kChosen, with serial_steps filled in; with a dynamic batch it stays
    // kAuto, untimed); kAll: none; kChosen: the serial_steps given (an engine file's).
    StepThreads step_threads = StepThreads::kAuto;
    std::vector<std::string> serial_steps;  // node names
    // Which early steps run one image at a time on a batch (image_choice.h): kAuto times the cuts
    // at build time (then kChosen with image_through filled in, or kOff; with a dynamic batch it
    // stays kAuto, untimed); kOff: none; kChosen: the steps through image_through (an engine file's).
    ImageSteps image_steps = ImageSteps::kAuto;
    std::string image_through;  // node name
};

class Engine {
  public:
    Engine(Engine&&) noexcept;
    Engine& operator=(Engine&&) noexcept;
    ~Engine();

    // The optimized graph the plan runs (com.qat ops included).
    const ir::Graph& graph() const;
    const EngineOptions& options() const { return options_; }
    // How options().fp32_layout came about ("blocked (auto, timed at build: ...)").
    const std::string& fp32_layout_note() const { return fp32_layout_note_; }
    // How options().step_threads came about ("3 of 25 steps on one thread, ...").
    const std::string& step_threads_note() const { return step_threads_note_; }
    // How options().image_steps came about ("steps 1-36 of 117 (through ...) one image at a time").
    const std::string& image_steps_note() const { return image_steps_note_; }
    // Threads actually used (options().threads resolved).
    int threads() const;

    // Inputs in the order of input_names(); outputs in the order of output_names(). Wrong
    // count, dtype or shape: an error naming the input and both shapes.
    Result<std::vector<Tensor>> run(const std::vector<Tensor>& inputs, const runtime::NodeHook& hook = nullptr);
    Result<std::map<std::string, Tensor>> run(const std::map<std::string, Tensor>& inputs,
                                              const runtime::NodeHook& hook = nullptr);
    const std::vector<std::string>& input_names() const;
    const std::vector<std::string>& output_names() const;
    // The graph values of the inputs / outputs (dtype and shape as the engine expects them).
    std::vector<const ir::Value*> input_values() const;
    std::vector<const ir::Value*> output_values() const;

    // One entry per plan step: the node, the backend that runs it and the refusals of the
    // backends tried before (qat explain / bench --profile).
    std::vector<runtime::StepInfo> steps() const;
    runtime::Plan& plan() { return *plan_; }
    const runtime::Plan& plan() const { return *plan_; }

    // Pass timings and rewrite counts of the build (empty for an engine loaded from a file).
    const std::map<std::string, double>& pass_timings_ms() const { return pass_timings_ms_; }
    const std::map<std::string, int>& pass_rewrites() const { return pass_rewrites_; }

  private:
    friend Result<Engine> build_engine(const ir::Graph&, const EngineOptions&);
    friend Result<Engine> engine_from_optimized_graph(const ir::Graph&, const EngineOptions&);
    Engine() = default;

    // Compiles `g` into plan_ with options_, resolving options_.fp32_layout, step_threads and
    // image_steps.
    Status compile(const ir::Graph& g);

    EngineOptions options_;
    std::string fp32_layout_note_;
    std::string step_threads_note_;
    std::string image_steps_note_;
    std::unique_ptr<runtime::Plan> plan_;
    std::map<std::string, double> pass_timings_ms_;
    std::map<std::string, int> pass_rewrites_;
};

// Checks the model (uncalibrated marker, Q/DQ parameters, backends), runs the engine pipeline
// on a copy of `graph` and compiles the plan. Errors name the node or input at fault.
Result<Engine> build_engine(const ir::Graph& graph, const EngineOptions& options = {});

// Compiles a plan from a graph that already went through the engine pipeline (engine files).
Result<Engine> engine_from_optimized_graph(const ir::Graph& graph, const EngineOptions& options);

// The checks build_engine runs before touching the graph: not marked uncalibrated
// (quant/calibrated.h), valid Q/DQ parameters (passes/qdq_checks.h), known backends,
// threads >= 0, batch >= 0.
Status check_model_for_engine(const ir::Graph& graph, const EngineOptions& options);

// Fixes the batch dim: every input whose dim 0 is symbolic or unknown gets `batch`, and every
// value whose dim 0 carries one of those symbols too. A static dim 0 that differs is an error
// naming the input.
Status fix_batch(ir::Graph& graph, int64_t batch);

// ---- the shared "model or engine" entry point --------------------------------------------

// Where a model came from.
enum class ModelSource { kOnnx, kEngineFile };

struct OpenedModel {
    Engine engine;
    ModelSource source = ModelSource::kOnnx;
    std::string path;
};

// Opens `path`: an engine file (recognised by its magic, whatever the extension) is loaded
// (options.backends / threads override the ones stored in it when given; a batch that differs
// from the engine's fixed batch is an error); anything else is imported as ONNX and built with
// `options`. qat run / eval / bench / explain all use this.
Result<OpenedModel> open_model_or_engine(const std::string& path, const EngineOptions& options = {});

}  // namespace qat::engine
