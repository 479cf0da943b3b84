// Kernel and the candidates a backend offers for an op.
//
// A backend registers, per op type, a KernelCandidate: `supports(node)` says OK or why not
// (the reason shows in `qat explain` and QAT_VERBOSE=dispatch), `create(node)` builds the kernel.
// Kernel::prepare runs once per input-shape signature (prepack weights, build primitives);
// Kernel::run runs per call (MNN onResize/onExecute, ncnn create_pipeline/forward).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace qat::runtime {

class Allocator;

// What a kernel sees when it runs. Inputs may be nullptr for omitted optional inputs.
class KernelContext {
public:
    KernelContext(const ir::Node& node, std::vector<const Tensor*> inputs, std::vector<Tensor>* outputs,
                  Allocator* allocator, int num_threads)
        : node_(node), inputs_(std::move(inputs)), outputs_(outputs), allocator_(allocator), threads_(num_threads) {}

    const ir::Node& node() const { return node_; }
    size_t num_inputs() const { return inputs_.size(); }
    // nullptr when omitted or past the end.
    const Tensor* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
    size_t num_outputs() const { return outputs_->size(); }
    // Allocates output i (from the plan's buffer pool when there is one) and returns it.
    Tensor& allocate_output(size_t i, DataType dtype, std::vector<int64_t> dims);
    // Sets output i to an existing tensor (e.g. a reshaped view of an input: no copy).
    void set_output(size_t i, Tensor t) { (*outputs_)[i] = std::move(t); }
    Tensor& output(size_t i) { return (*outputs_)[i]; }
    int num_threads() const { return threads_; }

private:
    const ir::Node& node_;
    std::vector<const Tensor*> inputs_;
    std::vector<Tensor>* outputs_;
    Allocator* allocator_;
    int threads_;
};

class Kernel {
public:
    virtual ~Kernel() = default;
    // Called before the first run and whenever an input shape changes.
    virtual Status prepare(const std::vector<const Tensor*>& inputs) {
        (void)inputs;
        return OkStatus();
    }
    virtual Status run(KernelContext& ctx) = 0;
    // Optional: bytes of prepacked state, for reports.
    virtual size_t prepacked_bytes() const { return 0; }
};

struct KernelCandidate {
    std::string backend;  // "ref", "onednn", "cuda"
    std::function<Status(const ir::Node&)> supports;
    std::function<Result<std::unique_ptr<Kernel>>(const ir::Node&)> create;
};

// Helper for kernels: "Conv 'c1': input 0 has shape [1,3,8,8], expected rank 4" style errors.
template <typename... Args>
Status kernel_error(const ir::Node& node, Args&&... args) {
    return invalid_argument(node.desc(), ": ", std::forward<Args>(args)...);
}

}  // namespace qat::runtime
