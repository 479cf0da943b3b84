// Pad: modes constant, reflect and edge, any dtype.
//
// Opset < 11 reads `pads` and `value` from attributes; opset >= 11 reads pads (and the optional
// constant_value, and opset 18's optional axes) from inputs. pads = [x1_begin, x2_begin, ...,
// x1_end, x2_end, ...]. Negative pads crop; as in ONNX Runtime the crop happens first, so
// reflect and edge refer to the edges of the cropped input.
//
// Each output index along a dim maps to one input index (or to "constant"); the copy is then
// a plain per-element gather, independent of the dtype.
#include <cstring>
#include <vector>

#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_util.h"

namespace qat::ref {
namespace {

enum class PadMode { kConstant, kReflect, kEdge };

// Source index in [0, len) for padded position i (relative to the first kept element), or -1
// for the constant value.
int64_t source_index(PadMode mode, int64_t i, int64_t len) {
    if (i >= 0 && i < len) return i;
    switch (mode) {
        case PadMode::kConstant:
            return -1;
        case PadMode::kEdge:
            return i < 0 ? 0 : len - 1;
        case PadMode::kReflect: {
            if (len == 1) return 0;
            // Reflection without repeating the edge has period 2 * (len - 1).
            const int64_t period = 2 * (len - 1);
            int64_t m = i % period;
            if (m < 0) m += period;
            return m < len ? m : period - m;
        }
    }
    return -1;
}

Status run_pad(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "data"));
    const size_t r = x->rank();
    const bool v2 = node.opset() != 0 && node.opset() < 11;  // Pad-2: attributes only

    const std::string mode_s = node.attr_string("mode", "constant");
    PadMode mode;
    if (mode_s == "constant")
        mode = PadMode::kConstant;
    else if (mode_s == "reflect")
        mode = PadMode::kReflect;
    else if (mode_s == "edge")
        mode = PadMode::kEdge;
    else
        return runtime::kernel_error(node, "mode '", mode_s, "' is not one of constant, reflect, edge");

    // pads for every dim (begins then ends).
    std::vector<int64_t> given;
    std::vector<int64_t> axes;
    if (v2) {
        if (!node.has_attr("pads")) return runtime::kernel_error(node, "pads attribute is required");
        given = node.attr_ints("pads");
    } else {
        QAT_ASSIGN_OR_RETURN(const Tensor* p, required_input(ctx, 1, "pads"));
        QAT_ASSIGN_OR_RETURN(given, int_values(node, *p, "pads"));
        if (const Tensor* ax = ctx.input(3)) {
            QAT_ASSIGN_OR_RETURN(std::vector<int64_t> raw, int_values(node, *ax, "axes"));
            for (int64_t a : raw) {
                QAT_ASSIGN_OR_RETURN(int64_t n, normalize_axis(node, a, r, "axes value"));
                axes.push_back(n);
            }
        }
    }
    if (axes.empty())
        for (size_t i = 0; i < r; ++i) axes.push_back(static_cast<int64_t>(i));
    if (given.size() != 2 * axes.size())
        return runtime::kernel_error(node, "pads has ", given.size(), " values, expected ", 2 * axes.size(),
                                     " for data ", dims_to_string(x->dims()));
    std::vector<int64_t> pb(r, 0), pe(r, 0);
    for (size_t i = 0; i < axes.size(); ++i) {
        pb[axes[i]] = given[i];
        pe[axes[i]] = given[i + axes.size()];
    }

    // The constant, as one element of x's dtype.
    Tensor value = Tensor::zeros(x->dtype(), {});
    if (v2) {
        value.set_from_double(0, node.attr_float("value", 0.0f));
    } else if (const Tensor* cv = ctx.input(2); cv && cv->numel() > 0) {
        if (cv->dtype() != x->dtype())
            return runtime::kernel_error(node, "constant_value has dtype ", dtype_name(cv->dtype()), ", data has ",
                                         dtype_name(x->dtype()));
        if (cv->numel() != 1)
            return runtime::kernel_error(node, "constant_value has shape ", dims_to_string(cv->dims()),
                                         ", expected a scalar");
        std::memcpy(value.raw_data(), cv->raw_data(), dtype_size(x->dtype()));
    }

    // Per dim: crop first (negative pads), then pad; the output dims are checked before the
    // per-dim index tables are built.
    for (int64_t p : given)
        if (p > kMaxOutputBytes || p < -kMaxOutputBytes)
            return runtime::kernel_error(node, "pads ", dims_to_string(given), " has an absurd value");
    std::vector<int64_t> out_dims(r), lo(r), before(r), len(r);
    for (size_t d = 0; d < r; ++d) {
        lo[d] = pb[d] < 0 ? -pb[d] : 0;
        len[d] = x->dim(d) - lo[d] - (pe[d] < 0 ? -pe[d] : 0);
        if (len[d] < 0)
            return runtime::kernel_error(node, "pads ", dims_to_string(given), " crop more than dim ", d, " of data ",
                                         dims_to_string(x->dims()));
        before[d] = pb[d] > 0 ? pb[d] : 0;
        out_dims[d] = len[d] + before[d] + (pe[d] > 0 ? pe[d] : 0);
        if (len[d] == 0 && out_dims[d] > 0 && mode != PadMode::kConstant)
            return runtime::kernel_error(node, mode_s, " padding of the empty dim ", d, " of data ",
                                         dims_to_string(x->dims()), " has nothing to copy");
    }
    QAT_RETURN_IF_ERROR(check_output_dims(node, out_dims, x->dtype()));
    // Each output position along a dim maps to one input index, or -1 for the constant.
    std::vector<std::vector<int64_t>> src(r);
    for (size_t d = 0; d < r; ++d)
        for (int64_t o = 0; o < out_dims[d]; ++o) {
            const int64_t s = source_index(mode, o - before[d], len[d]);
            src[d].push_back(s < 0 ? -1 : s + lo[d]);
        }

    Tensor& y = ctx.allocate_output(0, x->dtype(), out_dims);
    const size_t es = dtype_size(x->dtype());
    const std::vector<int64_t> in_strides = strides_of(x->dims());
    const auto* xs = static_cast<const unsigned char*>(x->raw_data());
    auto* ys = static_cast<unsigned char*>(y.raw_data());
    std::vector<int64_t> idx(r, 0);
    for (int64_t e = 0; e < y.numel(); ++e) {
        int64_t off = 0;
        bool constant = false;
        for (size_t d = 0; d < r && !constant; ++d) {
            const int64_t s = src[d][idx[d]];
            if (s < 0)
                constant = true;
            else
                off += s * in_strides[d];
        }
        std::memcpy(ys + e * es, constant ? value.raw_data() : xs + off * es, es);
        for (size_t d = r; d-- > 0;) {
            if (++idx[d] < out_dims[d]) break;
            idx[d] = 0;
        }
    }
    return OkStatus();
}

}  // namespace

void register_pad_kernels(runtime::KernelRegistry& reg) {
    add_ref_kernel(reg, "Pad",
                   [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> { return make_fn_kernel(run_pad); });
}

}  // namespace qat::ref
