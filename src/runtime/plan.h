// runtime::Plan: a Graph lowered for execution: one kernel per node (chosen through the
// KernelRegistry), value slots, constants bound once, a buffer pool reused across runs.
//
//   auto plan = runtime::Plan::compile(graph, {.registry = &reg});
//   auto outs = (*plan)->run({{"x", input}});          // map name -> Tensor
//
// Plans own a copy of the graph, so the caller's graph may change or die afterwards.
//
// Memory: value slots are released after their last reader and their buffers go back to the
// caching Allocator, so after the first run every activation reuses a warm buffer. A kernel may
// hand its output in a backend layout (kernel.h, Layout); the Plan passes it as-is to kernels
// that accept it and converts it to plain row-major, once per value, for everyone else (other
// backends, hooks, graph outputs). A step that is the last reader of an input whose buffer
// nothing else holds may overwrite it (KernelContext::can_overwrite_input), e.g. a residual add
// accumulated in place.
//
// Profiling (set_profiling(true)): wall time per step, including the layout conversions the
// step needed, for `qat bench --profile`.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "runtime/allocator.h"
#include "runtime/kernel_registry.h"

namespace qat::runtime {

struct PlanOptions {
    const KernelRegistry* registry = nullptr;  // required
    std::vector<std::string> backends;         // allowed backends, in no particular order; empty = all
    int num_threads = 1;
    KernelHints hints;  // handed to every kernel the plan creates
};

// Called after each node ran, with its outputs (e.g. calibration observers, per-layer compare).
// A non-OK status stops the run and is returned.
using NodeHook = std::function<Status(const ir::Node&, const std::vector<Tensor>& outputs)>;

struct StepInfo {
    const ir::Node* node = nullptr;
    std::string backend;
    std::vector<Refusal> refusals;
    int threads = 0;  // set_step_threads(); 0: the plan's count
};

// Accumulated timings of one step since the last reset_profile().
struct StepProfile {
    const ir::Node* node = nullptr;
    std::string backend;
    int64_t runs = 0;
    double total_ms = 0;                         // kernel run + conversions of its inputs to plain
    double convert_ms = 0;                       // of which: layout conversions of its inputs
    double prepare_ms = 0;                       // prepare() calls (first run, shape changes), not in total_ms
    std::string out_layout;                      // layout of output 0 at the last run ("" = plain)
    std::string implementation;                  // Kernel::implementation() at the last run
    int threads = 0;                             // threads of the last run
    std::vector<std::vector<int64_t>> out_dims;  // output dims at the last run
    std::vector<std::vector<int64_t>> in_dims;   // input dims at the last run ({} for omitted)
    int64_t images = 1;  // a step run one image at a time: the images of a run (its dims are one image's)
};

class Plan {
  public:
    ~Plan();
    static Result<std::unique_ptr<Plan>> compile(const ir::Graph& graph, const PlanOptions& options);

    // Inputs by name. Every graph input without a default (initializer) is required; unknown
    // names, wrong dtypes and shapes that contradict static dims are errors naming the input.
    Result<std::map<std::string, Tensor>> run(const std::map<std::string, Tensor>& inputs,
                                              const NodeHook& hook = nullptr);
    // Inputs in the order of input_names(); outputs in the order of output_names().
    Result<std::vector<Tensor>> run(const std::vector<Tensor>& inputs, const NodeHook& hook = nullptr);

    const ir::Graph& graph() const { return *graph_; }
    // Graph inputs a caller must (or may, when they have a default) feed.
    const std::vector<std::string>& input_names() const { return input_names_; }
    const std::vector<std::string>& output_names() const { return output_names_; }
    std::vector<StepInfo> steps() const;
    Allocator& allocator() { return allocator_; }
    int num_threads() const { return options_.num_threads; }
    // Changes the thread count kernels are given from the next run on (they re-prepare).
    void set_num_threads(int n) { options_.num_threads = n < 1 ? 1 : n; }
    // Runs step i (steps() order) on n threads instead of the plan's count; 0 goes back to the
    // plan's. A fork / join of the thread team costs more than the work of some small steps
    // (engine/thread_choice.h picks them). The step re-prepares on its next run.
    Status set_step_threads(size_t step, int n);
    // The threads step i runs on.
    int step_threads(size_t step) const;

    // Runs steps [0, k) (steps() order) one image at a time when every input has the same batch
    // of two or more, the rest at the whole batch: the early steps' activations then stay in the
    // caches from one step to the next (engine/image_choice.h times it). The values those steps
    // hand on are assembled into batch-sized buffers. 0 (the default) runs every step on the
    // whole batch; so does a run with a hook (hooks see whole batches). A run whose steps cannot
    // run on one image (a shape that names the batch) fails with a message saying so.
    Status set_image_steps(size_t k);
    size_t image_steps() const { return image_steps_; }

    // Per-step timing (off by default: it costs two clock reads per step).
    void set_profiling(bool on) { profiling_ = on; }
    bool profiling() const { return profiling_; }
    // One entry per step (folded Constant nodes included, with backend "constant").
    std::vector<StepProfile> profile() const;
    void reset_profile();

  private:
    struct Step {
        const ir::Node* node = nullptr;
        const KernelCandidate* candidate = nullptr;
        std::vector<Refusal> refusals;
        std::unique_ptr<Kernel> kernel;
        std::vector<int> in_slots;  // -1 for omitted inputs
        std::vector<int> out_slots;
        std::vector<int> release_after;                   // slots whose last reader is this step
        std::vector<std::vector<int64_t>> prepared_dims;  // input dims at the last prepare()
        std::vector<LayoutPtr> prepared_layouts;          // input layouts at the last prepare()
        int prepared_threads = 0;                         // threads at the last prepare()
        int threads = 0;                                  // set_step_threads(); 0: the plan's
        bool prepared = false;
        StepProfile prof;
    };
    // The tensor a step reads for slot s: as-is when the kernel accepts its layout, else the
    // plain form (converted once per value and kept until the slot is released).
    Result<const Tensor*> input_for(Step& st, size_t i, int s, const Layout** layout);
    bool overwritable(const Step& st, size_t i, const Tensor* t) const;
    // Stage k (0..3) of the cache prefetches for step i: each stage reads only what the stage
    // before it asked for a step earlier (see Plan::run).
    void prefetch_step(size_t i, int stage) const;
    int step_threads(const Step& st) const;
    Plan() = default;
    Status bind_inputs(const std::vector<Tensor>& inputs);
    // Runs step idx. images: the images of the run this call counts as in the profile (1 for a
    // whole batch, the batch for image 0 of one run one image at a time); 0 for the other images,
    // which only add their time.
    Status run_step(size_t idx, const NodeHook& hook, int64_t images);
    // Steps [0, image_steps_) once per image of the bound inputs' batch, then the values they
    // hand on assembled in their slots.
    Status run_images(int64_t batch);
    // The bound inputs' common batch when run_images applies, else 0.
    int64_t image_batch() const;
    Result<Tensor> plain_of(int s);
    void release(int s);
    // Slot s now holds t (stored in `layout`, or plain when null), made on `threads` threads.
    void bind(int s, Tensor t, LayoutPtr layout, int threads);

    PlanOptions options_;
    std::unique_ptr<ir::Graph> graph_;
    std::vector<Step> steps_;
    std::vector<Tensor> slots_;
    std::vector<LayoutPtr> slot_layouts_;  // nullptr = plain
    std::vector<Tensor> slot_plain_;       // plain form of a non-plain slot, once converted
    std::vector<bool> slot_is_input_;
    std::vector<bool> slot_is_constant_;
    std::vector<int> slot_threads_;  // threads of the step that wrote the slot (0: none yet)
    std::vector<int> input_slots_;
    std::vector<const ir::Value*> input_values_;
    std::vector<Tensor> input_defaults_;
    std::vector<int> output_slots_;
    std::vector<std::string> input_names_;
    std::vector<std::string> output_names_;
    Allocator allocator_;
    bool profiling_ = false;
    size_t image_steps_ = 0;
    std::vector<int> image_outs_;  // slots written before step image_steps_ and read from it on
    // run_step's output buffers, reused.
    std::vector<Tensor> outs_buf_;
    std::vector<LayoutPtr> out_layouts_;
};

// Checks a tensor against a graph value's declared dtype and static dims; the message names the
// input and both shapes.
Status check_tensor_matches(const ir::Value& v, const Tensor& t, const std::string& what);

}  // namespace qat::runtime
