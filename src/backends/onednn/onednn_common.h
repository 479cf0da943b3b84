// Internal to the oneDNN backend: engine and stream, dtype mapping, the oneDNN Layout that lets
// blocked tensors travel between oneDNN kernels, the kernel base class (exceptions -> Status,
// thread count) and the epilogue (output scales, post-ops, zero points) shared by QConv and QGemm.
//
// Layout hand-off: every oneDNN kernel builds its primitive with `format_tag::any` where oneDNN
// allows it, so the library picks its favourite layout (NHWC for int8 convolutions, nChw16c or
// NHWC for f32 ones). The output then carries an OnednnLayout (a memory::desc); the next oneDNN
// kernel reads it as-is (accepts_layout) and only reorders when its own primitive wants another
// layout. The runtime converts to plain (OnednnLayout::to_plain) for other backends and outputs.
//
// u8 storage of non-negative int8: when an int8 tensor is known to be >= 0 (the op ends in ReLU
// or a clip at >= 0, with zero point 0 and values clamped to 127), it is stored with a u8
// memory::desc: the bytes are identical, and oneDNN's u8 x s8 convolution is faster than its
// s8 x s8 one. The logical Tensor dtype stays int8; any reader may relabel the desc as s8.
#pragma once

#include <cstdint>
#include <dnnl.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/prefetch.h"
#include "core/status.h"
#include "core/tensor.h"
#include "ir/fused_ops.h"
#include "ir/graph.h"
#include "runtime/allocator.h"
#include "runtime/kernel.h"
#include "runtime/kernel_registry.h"

namespace qat::onednn {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;
using md_t = dnnl::memory::desc;

inline constexpr const char* kBackend = "onednn";

dnnl::engine& cpu_engine();
// One stream per thread (Plans are run from one thread at a time, but tests use several).
dnnl::stream& cpu_stream();
// Sets the OpenMP thread count oneDNN uses from here on (cheap when unchanged).
void set_num_threads(int n);

// DataType -> oneDNN data type; dt::undef when oneDNN has none (f64, i64, bool, i16).
dt to_dnnl(DataType t);
DataType from_dnnl(dt t);
// Plain row-major desc (rank 0 becomes {1}: oneDNN has no scalars).
md_t plain_md(const std::vector<int64_t>& dims, dt type);
// Same layout (strides, blocking), another data type of the same size (u8 <-> s8 relabel).
md_t with_type(const md_t& md, dt type);
// Same dims, data type and strides, ignoring extra flags (compensation) and padded dims.
bool is_plain(const md_t& md);
// A 4-D desc laid out channels-last (NHWC, oneDNN's "acdb"), dense.
bool is_channels_last(const md_t& md);
// "acdb u8", "aBcd16b f32", "plain f32" for logs and reports.
std::string md_to_string(const md_t& md);
dnnl::memory::dims to_dims(const std::vector<int64_t>& dims);

// The Layout of a tensor that a oneDNN kernel produced.
class OnednnLayout : public runtime::Layout {
  public:
    explicit OnednnLayout(md_t md) : md_(std::move(md)) {}
    const char* backend() const override { return kBackend; }
    std::string desc() const override;
    bool equals(const runtime::Layout& other) const override;
    Result<Tensor> to_plain(const Tensor& src, runtime::Allocator* allocator, int num_threads) const override;
    // Dense layouts with the batch outermost (channels-last among them): the same strides with a
    // batch of n. Blocked or padded ones: null.
    runtime::LayoutPtr with_batch(int64_t n) const override;
    const md_t& md() const { return md_; }

  private:
    md_t md_;
};

// The desc a tensor arrives in: its OnednnLayout, or plain.
md_t input_md(const Tensor& t, const runtime::Layout* layout);
// True when the tensor's data type is int8 but it is stored as u8 (non-negative).
inline bool is_u8_storage(const Tensor& t, const md_t& md) {
    return t.dtype() == DataType::kInt8 && md.data_type() == dt::u8;
}

// Allocates output i with room for `md` (logical dtype and dims given). After the primitive has
// written it, OnednnKernel::declare_layout() tells the Plan the layout (plain descs carry none).
// The order matters: without a layout sink (a context built by hand) declaring converts right
// away.
Tensor* make_output(runtime::KernelContext& ctx, size_t i, DataType dtype, const std::vector<int64_t>& dims,
                    const md_t& md);
// Output 0 over input i's buffer, as `dtype` / `dims`, when the plan allows it (this step is the
// input's last reader, and the input owns its storage): the residual of an in-place sum. Null
// otherwise; the caller then makes a fresh output.
Tensor* output_over_input(runtime::KernelContext& ctx, size_t i, DataType dtype, const std::vector<int64_t>& dims);

// A dnnl::memory over a tensor's buffer.
dnnl::memory mem(const md_t& md, const Tensor& t);
// A dnnl::memory that keeps its desc and only swaps the data handle per run (creating memory
// objects per call costs a few microseconds each).
class MemCache {
  public:
    dnnl::memory& get(const md_t& md, const void* data);

  private:
    dnnl::memory m_;
    bool has_ = false;
};

// Copies (reorders) src into dst memory; both descs may differ in layout and data type.
void reorder_into(const dnnl::memory& src, const dnnl::memory& dst);
// The same with the reorder primitive kept for the next call with the same descs (kernels that
// reorder an input on every run).
class ReorderCache {
  public:
    void run(const dnnl::memory& src, const dnnl::memory& dst);

  private:
    dnnl::reorder r_;
    md_t src_, dst_;
    bool has_ = false;
};

// "ref" implementations are correct but slow: worth a line under QAT_VERBOSE=dispatch.
void note_impl(const ir::Node& node, const char* what, const char* impl_info);

// Base of every oneDNN kernel: catches dnnl::error (no exception leaves the backend), sets the
// thread count, and accepts oneDNN layouts on its inputs unless told otherwise.
class OnednnKernel : public runtime::Kernel {
  public:
    explicit OnednnKernel(const ir::Node& node) : node_(node) {}
    Status prepare(const std::vector<const Tensor*>& inputs) final;
    Status prepare_with_layouts(const std::vector<const Tensor*>& inputs,
                                const std::vector<const runtime::Layout*>& layouts) final;
    Status run(runtime::KernelContext& ctx) final;
    bool accepts_layout(size_t input, const runtime::Layout& layout) const override;
    // supports() helper: builds the primitive for the node's declared shapes (symbolic batch = 1,
    // other unknown dims = `unknown_dim`) without touching data, so that a configuration oneDNN
    // cannot build is declined at plan time (falling back to ref) instead of failing the run.
    Status probe(int64_t unknown_dim = 16);

  protected:
    bool probing_ = false;  // do_prepare may stop once the primitive descriptor exists
    virtual Status do_prepare(const std::vector<const Tensor*>& inputs, const std::vector<md_t>& mds) = 0;
    virtual Status do_run(runtime::KernelContext& ctx) = 0;
    // Which inputs may arrive in a oneDNN layout (default: all).
    virtual bool takes_layout(size_t input) const {
        (void)input;
        return true;
    }
    // Tells the Plan output i's layout after the kernel wrote it (see make_output). The layout
    // object is kept for the next run of the same desc: one allocation less per run (layouts
    // are immutable, so the Plan may hold the same one for several runs).
    Status declare_layout(runtime::KernelContext& ctx, size_t i, const md_t& md);
    // make_output and declare_layout for a desc that stays put and unchanged between prepares (a
    // kernel's member, a kept state's): what they read of it (plain or not, its bytes, its layout
    // object) is taken once per prepare, keyed by its address. A desc is ~1 KB; by the time a
    // step runs, the other steps' data have pushed it out of the caches, and reading it back
    // (is_plain, get_size, the == against the last declared one) stalled on a dozen lines per
    // step (with the Plan's prefetches, runtime::Kernel::prefetch_run, EfficientNet-B0 at batch 1
    // on one thread 4.48 -> 4.32 ms; docs/BENCHMARKS.md).
    Tensor* make_fixed_output(runtime::KernelContext& ctx, size_t i, DataType dtype, const std::vector<int64_t>& dims,
                              const md_t& md);
    Status declare_fixed_layout(runtime::KernelContext& ctx, size_t i, const md_t& md);
    // Asks the caches for those entries (stage 0), then for the layout objects they hold (stage
    // 1: the Plan's copy of the pointer touches its count), for prefetch_run.
    void prefetch_fixed(int stage) const {
        for (const FixedDesc& f : fixed_) prefetch_lines({stage == 0 ? static_cast<const void*>(&f) : f.layout.get()});
    }
    const ir::Node& node_;

  private:
    struct FixedDesc {
        const md_t* md = nullptr;
        DataType dtype = DataType::kUndefined;
        bool plain = false;  // is_plain and of dtype's type: a plain tensor, no layout object
        size_t bytes = 0;
        std::shared_ptr<const OnednnLayout> layout;  // when not plain
    };
    const FixedDesc& fixed(const md_t& md, DataType dtype);
    std::vector<std::shared_ptr<const OnednnLayout>> out_layouts_;  // per output, the last declared
    std::vector<FixedDesc> fixed_;                                  // cleared by prepare
};

// ---------------------------------------------------------------------------------------------
// Quantized op parameters (fused_ops.h) and the epilogue built from them.

struct QParams {
    float x_scale = 1;
    int32_t x_zero_point = 0;
    std::vector<float> w_scales;
    float y_scale = 1;
    int32_t y_zero_point = 0;
    int out_dtype = 1;  // ONNX code: 1 f32, 2 u8, 3 i8
    std::vector<std::string> post_ops;
    float clip_min = 0, clip_max = 6, alpha = 0.01f;
    float residual_scale = 1;
    int32_t residual_zero_point = 0;
    bool has_residual() const;
    bool quantized_out() const { return out_dtype != 1; }
    DataType out_type() const;
};

// Reads and checks the attributes of a QConv / QConvTranspose / QGemm node: OK, or the reason.
// `info`, when given, receives the attributes as ir::fused read them (for loops of our own).
Status parse_qparams(const ir::Node& node, size_t num_out_channels, QParams* p, ir::fused::FusedOpInfo* info = nullptr);
// Whether an int8 output is non-negative by construction (a ReLU, a leaky ReLU of slope 0 or a
// clip at >= 0 last, zero point 0): stored as u8 (same bytes for 0..127), so that the next
// convolution takes oneDNN's u8 kernels.
bool int8_output_stored_as_u8(const QParams& p);
// Post-ops this backend runs.
Status check_post_ops(const std::vector<std::string>& post_ops);

struct Epilogue {
    std::vector<float> oscales;  // per output channel (or one)
    dnnl::primitive_attr attr;
    dt dst_type = dt::f32;
    bool u8_storage = false;  // int8 output stored as u8 (non-negative, clamped to 127)
    enum class Residual { kNone, kSum, kBinary } residual = Residual::kNone;
    int binary_index = -1;  // post-op index of the residual binary add
    bool dst_zero_point = false;
};

// Builds output scales and post-ops for an int8 op whose accumulator is acc (int32) and whose
// real-valued result is x_scale * w_scale[c] * acc + bias[c] (bias is added by the primitive in
// accumulator units, i.e. pre-divided by x_scale * w_scale[c]). `oc_mask` is the dst dimension
// mask of the output channels; `residual_md` the desc the residual arrives in (when "add").
// A residual of the output's element size is accumulated with the sum post-op (in place); one of
// another size (a float residual of an int8 output) is read by a binary add post-op.
Result<Epilogue> build_epilogue(const QParams& p, int oc_mask, const md_t* residual_md);

// Registration helper.
void add_kernel(runtime::KernelRegistry& reg, const std::string& op_type,
                std::function<Status(const ir::Node&)> supports,
                std::function<Result<std::unique_ptr<runtime::Kernel>>(const ir::Node&)> create,
                const std::string& domain = "");

// Per group of ops (one .cpp each).
void register_conv(runtime::KernelRegistry& reg);
void register_matmul(runtime::KernelRegistry& reg);
void register_pool(runtime::KernelRegistry& reg);
void register_eltwise(runtime::KernelRegistry& reg);
void register_binary(runtime::KernelRegistry& reg);
void register_misc(runtime::KernelRegistry& reg);

// String-list attribute (e.g. post_ops); empty when absent.
std::vector<std::string> attr_strings(const ir::Node& node, const std::string& name);

// Shared checks for supports().
Status require_constant(const ir::Node& node, size_t input, const char* what);
// Graph-declared dtype of input i (kUndefined when unknown).
DataType input_dtype(const ir::Node& node, size_t i);
// Scalar value of a constant input as float (Clip min/max, Q/DQ scale).
Result<float> constant_scalar(const ir::Node& node, size_t input);

// A kernel's per-shape states (the conv and matmul kernels keep one per input shape / layout /
// thread count seen): `st` joins `states` as the newest, the oldest dropped past 8; returns it.
template <class S>
S* keep_state(std::vector<std::unique_ptr<S>>& states, std::unique_ptr<S> st) {
    if (states.size() >= 8) states.erase(states.begin());
    states.push_back(std::move(st));
    return states.back().get();
}

}  // namespace qat::onednn
