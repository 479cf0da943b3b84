// Shape-only ops (Flatten, Reshape, Squeeze, Unsqueeze, Identity, Dropout) and shape queries
// (Shape, Size); register_shape_kernels also pulls in data_movement.cpp and cast_constant.cpp.
//
// The shape-only ops return views of their input (same buffer, new dims): no copy, and the
// reference stays cheap on the Reshape/Flatten chains every exported model has.
#include "backends/ref/shape_ops.h"

#include <algorithm>
#include <optional>
#include <set>

#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_tensor_util.h"

namespace qat::ref {
namespace {

std::unique_ptr<runtime::Kernel> kernel_of(KernelFn fn) { return make_fn_kernel(std::move(fn)); }

void add_simple(runtime::KernelRegistry& reg, const std::string& op, KernelFn fn,
                std::function<Status(const ir::Node&)> supports = nullptr) {
    add_ref_kernel(
        reg, op, [fn](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> { return kernel_of(fn); },
        std::move(supports));
}

// Flatten: [d0 .. d(axis-1)] x [d(axis) ..], axis in [-rank, rank].
Status run_flatten(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "input"));
    const int64_t rank = static_cast<int64_t>(x->rank());
    int64_t axis = node.attr_int("axis", 1);
    if (axis < -rank || axis > rank)
        return runtime::kernel_error(node, "axis ", axis, " is out of range for input of shape ",
                                     dims_to_string(x->dims()), " (expected [", -rank, ", ", rank, "])");
    if (axis < 0) axis += rank;
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i) outer *= x->dim(i);
    int64_t inner = 1;
    for (int64_t i = axis; i < rank; ++i) inner *= x->dim(i);
    ctx.set_output(0, x->reshaped({outer, inner}));
    return OkStatus();
}

// Reshape: 0 copies the input dim (unless allowzero, opset 14), one -1 is inferred.
Status run_reshape(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "data"));
    std::vector<int64_t> shape;
    if (node.opset() >= 5) {
        QAT_ASSIGN_OR_RETURN(const Tensor* s, required_input(ctx, 1, "shape"));
        QAT_ASSIGN_OR_RETURN(shape, read_int_list(node, *s, "shape"));
    } else {
        if (!node.has_attr("shape")) return runtime::kernel_error(node, "missing attribute shape");
        shape = node.attr_ints("shape");
    }
    const bool allow_zero = node.attr_int("allowzero", 0) != 0;
    std::vector<int64_t> out(shape.size());
    int64_t inferred = -1;  // index of the -1 dim
    int64_t known = 1;      // product of the other dims
    bool has_zero = false;
    for (size_t i = 0; i < shape.size(); ++i) {
        int64_t d = shape[i];
        if (d == -1) {
            if (inferred >= 0)
                return runtime::kernel_error(node, "shape ", dims_to_string(shape), " has more than one -1");
            inferred = static_cast<int64_t>(i);
            continue;
        }
        if (d < -1) return runtime::kernel_error(node, "shape ", dims_to_string(shape), " has invalid dim ", d);
        if (d == 0 && !allow_zero) {
            if (i >= x->rank())
                return runtime::kernel_error(node, "shape ", dims_to_string(shape), " copies dim ", i,
                                             " (0) but the input ", dims_to_string(x->dims()), " has rank ", x->rank());
            d = x->dim(i);
        }
        has_zero = has_zero || d == 0;
        out[i] = d;
        if (__builtin_mul_overflow(known, d, &known))
            return runtime::kernel_error(node, "cannot reshape ", dims_to_string(x->dims()), " to shape ",
                                         dims_to_string(shape));
    }
    if (allow_zero && inferred >= 0 && has_zero)
        return runtime::kernel_error(node, "shape ", dims_to_string(shape),
                                     " has both 0 and -1, which allowzero=1 forbids");
    if (inferred >= 0) {
        if (known == 0 || x->numel() % known != 0)
            return runtime::kernel_error(node, "cannot reshape ", dims_to_string(x->dims()), " to shape ",
                                         dims_to_string(shape), ": the -1 dim cannot be inferred");
        out[inferred] = x->numel() / known;
    }
    if (numel_of(out) != x->numel())
        return runtime::kernel_error(node, "cannot reshape ", dims_to_string(x->dims()), " (", x->numel(),
                                     " elements) to ", dims_to_string(out));
    ctx.set_output(0, x->reshaped(out));
    return OkStatus();
}

// Axes of Squeeze/Unsqueeze: attribute before opset 13, optional input 1 from 13 on.
Result<std::optional<std::vector<int64_t>>> read_axes(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    if (node.opset() < 13) {
        if (!node.has_attr("axes")) return std::optional<std::vector<int64_t>>();
        return std::optional<std::vector<int64_t>>(node.attr_ints("axes"));
    }
    const Tensor* t = ctx.input(1);
    if (!t || !t->defined()) return std::optional<std::vector<int64_t>>();
    QAT_ASSIGN_OR_RETURN(std::vector<int64_t> axes, read_int_list(node, *t, "axes"));
    return std::optional<std::vector<int64_t>>(std::move(axes));
}

// Normalised, duplicate-free axes for a tensor of rank `rank`.
Result<std::set<int64_t>> normalize_axes(const ir::Node& node, const std::vector<int64_t>& axes, int64_t rank) {
    std::set<int64_t> out;
    for (int64_t a : axes) {
        QAT_ASSIGN_OR_RETURN(int64_t n, normalize_axis(node, a, rank, "axis"));
        if (!out.insert(n).second)
            return runtime::kernel_error(node, "axes ", dims_to_string(axes), " repeat axis ", a);
    }
    return out;
}

Status run_squeeze(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "data"));
    QAT_ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> axes, read_axes(ctx));
    const int64_t rank = static_cast<int64_t>(x->rank());
    std::set<int64_t> drop;
    if (axes) {
        QAT_ASSIGN_OR_RETURN(drop, normalize_axes(node, *axes, rank));
        for (int64_t a : drop)
            if (x->dim(a) != 1)
                return runtime::kernel_error(node, "cannot squeeze axis ", a, " of size ", x->dim(a), " in ",
                                             dims_to_string(x->dims()));
    } else {
        for (int64_t a = 0; a < rank; ++a)  // no axes: every size-1 dim goes
            if (x->dim(a) == 1) drop.insert(a);
    }
    std::vector<int64_t> out;
    for (int64_t a = 0; a < rank; ++a)
        if (!drop.count(a)) out.push_back(x->dim(a));
    ctx.set_output(0, x->reshaped(out));
    return OkStatus();
}

Status run_unsqueeze(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "data"));
    QAT_ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> axes, read_axes(ctx));
    if (!axes) return runtime::kernel_error(node, "axes are required");
    // Axes index the output, whose rank is the input's plus one per axis.
    const int64_t out_rank = static_cast<int64_t>(x->rank() + axes->size());
    QAT_ASSIGN_OR_RETURN(std::set<int64_t> ones, normalize_axes(node, *axes, out_rank));
    std::vector<int64_t> out;
    size_t next = 0;
    for (int64_t a = 0; a < out_rank; ++a) out.push_back(ones.count(a) ? 1 : x->dim(next++));
    ctx.set_output(0, x->reshaped(out));
    return OkStatus();
}

Status run_identity(runtime::KernelContext& ctx) {
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "input"));
    ctx.set_output(0, *x);
    return OkStatus();
}

// Dropout at inference: Y = X, the optional mask all true (bool since opset 10; X's dtype filled
// with ones before). Opset 12 moved ratio to input 1 and added training_mode (input 2); training
// (random dropping) is refused unless the ratio is 0, which makes it the identity too.
Status run_dropout(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "data"));
    double ratio = node.attr_float("ratio", 0.5f);
    bool training = false;
    if (node.opset() >= 12) {
        ratio = 0.5;
        if (const Tensor* r = ctx.input(1); r && r->defined()) {
            if (r->numel() != 1 || !is_float(r->dtype()))
                return runtime::kernel_error(node, "ratio must be a float scalar, got ", r->desc());
            ratio = r->get_as_double(0);
        }
        if (const Tensor* t = ctx.input(2); t && t->defined()) {
            if (t->numel() != 1 || t->dtype() != DataType::kBool)
                return runtime::kernel_error(node, "training_mode must be a bool scalar, got ", t->desc());
            training = t->data<bool>()[0];
        }
    }
    if (!(ratio >= 0.0 && ratio < 1.0)) return runtime::kernel_error(node, "ratio ", ratio, " is outside [0, 1)");
    if (training && ratio != 0.0)
        return runtime::kernel_error(node, "training_mode=true with ratio ", ratio,
                                     " is not supported: the reference backend runs inference only");
    ctx.set_output(0, *x);
    if (ctx.num_outputs() > 1 && output_is_read(node, 1)) {
        const DataType mask_type = node.opset() >= 10 ? DataType::kBool : x->dtype();
        Tensor& mask = ctx.allocate_output(1, mask_type, x->dims());
        for (int64_t i = 0; i < mask.numel(); ++i) mask.set_from_double(i, 1.0);
    }
    return OkStatus();
}

// Shape, with the start/end slice of opset 15 (negative values count from the end, both clamp).
Status run_shape(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "data"));
    const int64_t rank = static_cast<int64_t>(x->rank());
    auto clamp_index = [rank](int64_t i) { return std::clamp(i < 0 ? i + rank : i, int64_t(0), rank); };
    const int64_t start = clamp_index(node.attr_int("start", 0));
    const int64_t end = clamp_index(node.attr_int("end", rank));
    const int64_t n = std::max(int64_t(0), end - start);
    Tensor& y = ctx.allocate_output(0, DataType::kInt64, {n});
    for (int64_t i = 0; i < n; ++i) y.data<int64_t>()[i] = x->dim(start + i);
    return OkStatus();
}

Status run_size(runtime::KernelContext& ctx) {
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "data"));
    ctx.allocate_output(0, DataType::kInt64, {}).data<int64_t>()[0] = x->numel();
    return OkStatus();
}

}  // namespace

void register_shape_kernels(runtime::KernelRegistry& reg) {
    add_simple(reg, "Flatten", run_flatten);
    add_simple(reg, "Reshape", run_reshape);
    add_simple(reg, "Squeeze", run_squeeze);
    add_simple(reg, "Unsqueeze", run_unsqueeze);
    add_simple(reg, "Identity", run_identity);
    add_simple(reg, "Dropout", run_dropout);
    add_simple(reg, "Shape", run_shape);
    add_simple(reg, "Size", run_size);
    register_data_movement_kernels(reg);
    register_cast_constant_kernels(reg);
}

}  // namespace qat::ref
