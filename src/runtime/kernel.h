// Kernel and the candidates a backend offers for an op.
//
// A backend registers, per op type, a KernelCandidate: `supports(node)` says OK or why not
// (the reason shows in `qat explain` and QAT_VERBOSE=dispatch), `create(node)` builds the kernel.
// Kernel::prepare runs once per input-shape signature (prepack weights, build primitives);
// Kernel::run runs per call (MNN onResize/onExecute, ncnn create_pipeline/forward).
//
// Layouts: a kernel may produce an output whose buffer is not plain row-major (oneDNN's blocked
// nChw16c, NHWC for int8 convolutions, int8 data stored for a u8 kernel). It says so with
// KernelContext::set_output_layout(). The Plan hands such a tensor as-is only to kernels whose
// accepts_layout() says yes (typically the same backend's next op, so reorders happen only at
// backend boundaries) and converts it with Layout::to_plain() for every other reader, for graph
// outputs and for hooks: kernels that never heard of layouts always see plain tensors.
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

// A non-plain memory layout of a tensor. The Tensor keeps its logical dtype and dims; its
// storage holds the layout's bytes (possibly more than numel * dtype_size, e.g. channels padded
// to a block). Opaque to the runtime: only the backend that made it knows what it means.
class Layout {
  public:
    virtual ~Layout() = default;
    // Backend that produced it ("onednn").
    virtual const char* backend() const = 0;
    // Short text for reports and logs, e.g. "onednn:nChw16c f32".
    virtual std::string desc() const = 0;
    // Same physical layout (a kernel prepared for one may run on the other).
    virtual bool equals(const Layout& other) const = 0;
    // The plain row-major form of `src` (which carries this layout), with src's logical dtype and
    // dims. May return a tensor sharing src's buffer when the bytes are already plain.
    virtual Result<Tensor> to_plain(const Tensor& src, Allocator* allocator, int num_threads) const = 0;
    // The same layout for a batch of n (dimension 0), where each item's bytes are contiguous and
    // laid out as for a batch of one (dense, batch outermost): the Plan assembles a batch from
    // images run one at a time (Plan::set_image_steps). Null where that does not hold.
    virtual std::shared_ptr<const Layout> with_batch(int64_t n) const {
        (void)n;
        return nullptr;
    }
};
using LayoutPtr = std::shared_ptr<const Layout>;

// What a kernel sees when it runs. Inputs may be nullptr for omitted optional inputs.
class KernelContext {
  public:
    KernelContext(const ir::Node& node, std::vector<const Tensor*> inputs, std::vector<Tensor>* outputs,
                  Allocator* allocator, int num_threads)
        : node_(node), inputs_(std::move(inputs)), outputs_(outputs), allocator_(allocator), threads_(num_threads) {}

    const ir::Node& node() const { return node_; }
    // Set by the Plan (additive to the constructor so kernels and tests that build contexts by
    // hand keep working): input layouts (nullptr = plain), where output layouts go, and which
    // inputs this step may overwrite (their last reader, a buffer nothing else holds).
    void set_input_layouts(std::vector<const Layout*> layouts) { in_layouts_ = std::move(layouts); }
    void set_output_layouts(std::vector<LayoutPtr>* layouts) { out_layouts_ = layouts; }
    void set_overwritable_inputs(std::vector<bool> ok) { overwritable_ = std::move(ok); }

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
    Allocator* allocator() const { return allocator_; }

    // Layout of input i, nullptr when plain (or unknown to this context).
    const Layout* input_layout(size_t i) const { return i < in_layouts_.size() ? in_layouts_[i] : nullptr; }
    // Allocates output i with room for at least `bytes` (a padded blocked layout may need more
    // than numel * dtype_size).
    Tensor& allocate_output_bytes(size_t i, DataType dtype, std::vector<int64_t> dims, size_t bytes);
    // Declares output i's layout (nullptr = plain). Only kernels that accept the layout will see
    // the tensor as-is; the Plan converts it for everyone else. Without an output-layout sink
    // (a context built by hand) the output is converted to plain right here.
    Status set_output_layout(size_t i, LayoutPtr layout);
    // True when the kernel may write into input i's buffer (e.g. produce its output in place):
    // this step is the input's last reader and no other live value shares the buffer.
    bool can_overwrite_input(size_t i) const { return i < overwritable_.size() && overwritable_[i]; }

  private:
    const ir::Node& node_;
    std::vector<const Tensor*> inputs_;
    std::vector<Tensor>* outputs_;
    Allocator* allocator_;
    int threads_;
    std::vector<const Layout*> in_layouts_;
    std::vector<LayoutPtr>* out_layouts_ = nullptr;
    std::vector<bool> overwritable_;
};

// Plan-wide preferences the engine decided at build time (EngineOptions::fp32_layout); kernels
// that have no such choice ignore them.
struct KernelHints {
    // FP32 2-D convolutions: produce (and read, where the channels fill whole blocks) oneDNN's
    // blocked nChw16c layout instead of the layout the backend would pick on its own.
    bool fp32_conv_blocked = false;
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
    // Called once, right after the kernel is created, before any prepare().
    virtual void set_hints(const KernelHints& hints) { (void)hints; }
    // Optional: bytes of prepacked state, for reports.
    virtual size_t prepacked_bytes() const { return 0; }
    // Optional: the implementation the last prepare() chose (e.g. oneDNN's
    // "brgconv:avx512_core_vnni"), for profiles, like the tactic names of trtexec.
    virtual std::string implementation() const { return {}; }

    // Optional: asks the caches for what the next run() reads of the kernel's own state, without
    // waiting for it. Between two runs of a step the other steps' data push that state out of the
    // caches, and its cold lines read one after the other cost ~0.1 us each (docs/BENCHMARKS.md).
    // The Plan calls stage 0 two steps ahead (the kernel object itself is in cache by then) and
    // stage 1 one step ahead: stage 1 may read what stage 0 asked for (a pointer in the state).
    virtual void prefetch_run(int stage) const { (void)stage; }

    // Whether input i may arrive in `layout` (not plain). Default: no, so the Plan converts it.
    virtual bool accepts_layout(size_t input, const Layout& layout) const {
        (void)input;
        (void)layout;
        return false;
    }
    // prepare() with the layouts the inputs arrive in (nullptr = plain); the Plan calls this one
    // and calls it again when a layout changes. Default: the layouts do not matter.
    virtual Status prepare_with_layouts(const std::vector<const Tensor*>& inputs,
                                        const std::vector<const Layout*>& layouts) {
        (void)layouts;
        return prepare(inputs);
    }

    // The thread count the kernel's runs will get (KernelContext::num_threads), set by the Plan
    // before each prepare (0: not told, e.g. a kernel driven by hand). Kernels whose prepared
    // state depends on it read it there: a oneDNN primitive fixes its split over threads when
    // it is built.
    void set_prepare_threads(int n) { prepare_threads_ = n; }
    int prepare_threads() const { return prepare_threads_; }

  private:
    int prepare_threads_ = 0;
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
