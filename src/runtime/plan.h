// runtime::Plan: a Graph lowered for execution: one kernel per node (chosen through the
// KernelRegistry), value slots, constants bound once, a buffer pool reused across runs.
//
//   auto plan = runtime::Plan::compile(graph, {.registry = &reg});
//   auto outs = (*plan)->run({{"x", input}});          // map name -> Tensor
//
// Plans own a copy of the graph, so the caller's graph may change or die afterwards.
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
};

// Called after each node ran, with its outputs (e.g. calibration observers, per-layer compare).
// A non-OK status stops the run and is returned.
using NodeHook = std::function<Status(const ir::Node&, const std::vector<Tensor>& outputs)>;

struct StepInfo {
    const ir::Node* node = nullptr;
    std::string backend;
    std::vector<Refusal> refusals;
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

private:
    struct Step {
        const ir::Node* node = nullptr;
        const KernelCandidate* candidate = nullptr;
        std::vector<Refusal> refusals;
        std::unique_ptr<Kernel> kernel;
        std::vector<int> in_slots;   // -1 for omitted inputs
        std::vector<int> out_slots;
        std::vector<int> release_after;  // slots whose last reader is this step
        std::vector<std::vector<int64_t>> prepared_dims;  // input dims at the last prepare()
        bool prepared = false;
    };
    Plan() = default;
    Status bind_inputs(const std::vector<Tensor>& inputs);

    PlanOptions options_;
    std::unique_ptr<ir::Graph> graph_;
    std::vector<Step> steps_;
    std::vector<Tensor> slots_;
    std::vector<bool> slot_is_constant_;
    std::vector<int> input_slots_;
    std::vector<const ir::Value*> input_values_;
    std::vector<Tensor> input_defaults_;
    std::vector<int> output_slots_;
    std::vector<std::string> input_names_;
    std::vector<std::string> output_names_;
    Allocator allocator_;
};

// Checks a tensor against a graph value's declared dtype and static dims; the message names the
// input and both shapes.
Status check_tensor_matches(const ir::Value& v, const Tensor& t, const std::string& what);

}  // namespace qat::runtime
