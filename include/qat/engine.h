// qat public API: the INT8 inference engine. An Engine is a model run through the engine
// passes (BN folding, Q/DQ propagation, fusion of Q/DQ groups into INT8 ops) and compiled for
// the CPU backends (oneDNN where built, the reference kernels as the fallback). It can be saved
// to an engine file and loaded again without the ONNX model.
//
//   auto e = qat::api::Engine::build(model, {.threads = 2});
//   if (!e.ok()) return fail(e.status());
//   qat::api::FloatTensor x = qat::api::FloatTensor::zeros({1, 1, 28, 28});
//   auto y = e->run({x});                       // one FloatTensor per output
//   if (y.ok()) std::printf("top-1 %lld\n", (long long)(*y)[0].argmax_row(0));
//   e->save("model.engine");                    // later: Engine::load("model.engine")
//
//   qat::api::DataSpec test;  test.split = "test";  test.samples = 0;
//   auto acc = qat::api::evaluate(*e, test);    // acc->top1, acc->top5 in percent
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "qat/data.h"
#include "qat/model.h"
#include "qat/status.h"
#include "qat/tensor.h"

namespace qat::api {

struct EngineOptions {
    std::vector<std::string> backends;  // e.g. {"onednn"} or {"ref"}; empty: all, fastest first
    int threads = 0;                    // kernel threads; 0: every core
    int64_t batch = 0;                  // > 0: fix the batch dim at build time; 0: dynamic
    bool int8 = true;                   // false: keep Q/DQ groups unfused (for comparisons)
    // Layout of the FP32 convolutions on oneDNN: "auto" (both timed at build when the batch is
    // fixed, the faster kept), "backend" (oneDNN's choice) or "blocked" (nChw16c). docs/ENGINE.md.
    std::string fp32_layout = "auto";
    // Steps that run on one thread: "auto" (small steps timed on one thread and on `threads` when
    // the batch is fixed, the faster plan kept) or "all" (every step on `threads`). docs/ENGINE.md.
    std::string step_threads = "auto";
};

class Engine {
  public:
    // Builds from a model. Errors: an uncalibrated model, bad Q/DQ parameters, an unknown
    // backend, a batch that contradicts the model.
    static Result<Engine> build(const Model& model, const EngineOptions& options = {});
    // Loads an engine file (options override the stored backends / threads / fp32_layout /
    // step_threads when set, fp32_layout and step_threads other than "auto").
    static Result<Engine> load(const std::string& path, const EngineOptions& options = {});

    Engine(Engine&&) noexcept;
    Engine& operator=(Engine&&) noexcept;
    ~Engine();

    // Writes the engine file, atomically.
    Status save(const std::string& path) const;

    // Runs one batch: one tensor per input, in the order of inputs(). A wrong count or shape is
    // an error naming the input and both shapes; the engine stays usable.
    Result<std::vector<FloatTensor>> run(const std::vector<FloatTensor>& inputs);

    std::vector<TensorInfo> inputs() const;
    std::vector<TensorInfo> outputs() const;
    // Plan steps per backend, e.g. "onednn 12, ref 1".
    std::string backend_summary() const;

    struct Impl;  // internal: the plan (not part of the API)
    Impl& impl() { return *impl_; }
    const Impl& impl() const { return *impl_; }

    // Internal: only the library can make an Impl.
    explicit Engine(std::unique_ptr<Impl> impl);

  private:
    std::unique_ptr<Impl> impl_;
};

struct EvalResult {
    int64_t samples = 0;
    double top1 = 0;  // percent
    double top5 = 0;  // percent
};

// Classification accuracy of a one-input engine whose first output is [batch, classes] on the
// labeled set `data` (all of it when data.samples is 0). `batch` is the run batch (an engine
// with a fixed batch uses its own).
Result<EvalResult> evaluate(Engine& engine, const DataSpec& data, int64_t batch = 64);

}  // namespace qat::api
