// Data movement: Transpose, Concat, Split, Slice, Gather, Expand. They never look at values, so
// they copy elements as bytes and take every dtype (float16 and bool included).
#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <set>

#include "backends/ref/broadcast.h"
#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_tensor_util.h"
#include "backends/ref/shape_ops.h"

namespace qat::ref {
namespace {

int64_t product(const std::vector<int64_t>& dims, size_t begin, size_t end) {
    int64_t p = 1;
    for (size_t i = begin; i < end; ++i) p *= dims[i];
    return p;
}

// Transpose: output dim i is input dim perm[i]; perm defaults to the reversed dims.
Status run_transpose(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "data"));
    const size_t rank = x->rank();
    std::vector<int64_t> perm(rank);
    if (node.has_attr("perm")) {
        perm = node.attr_ints("perm");
        std::vector<int64_t> sorted = perm;
        std::sort(sorted.begin(), sorted.end());
        std::vector<int64_t> iota(rank);
        std::iota(iota.begin(), iota.end(), 0);
        if (sorted != iota)
            return runtime::kernel_error(node, "perm ", dims_to_string(perm), " is not a permutation of the ", rank,
                                         " dims of input ", dims_to_string(x->dims()));
    } else {
        for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(rank - 1 - i);
    }
    const std::vector<int64_t> in_strides = contiguous_strides(x->dims());
    std::vector<int64_t> out_dims(rank), src_strides(rank);
    for (size_t i = 0; i < rank; ++i) {
        out_dims[i] = x->dim(perm[i]);
        src_strides[i] = in_strides[perm[i]];
    }
    Tensor& y = ctx.allocate_output(0, x->dtype(), out_dims);
    copy_strided(x->raw_data(), 0, src_strides, out_dims, y.raw_data(), dtype_size(x->dtype()));
    return OkStatus();
}

// Concat along one axis (negative counts from the end); inputs agree on every other dim.
Status run_concat(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    if (ctx.num_inputs() == 0) return runtime::kernel_error(node, "needs at least one input");
    if (!node.has_attr("axis") && node.opset() >= 4) return runtime::kernel_error(node, "missing attribute axis");
    QAT_ASSIGN_OR_RETURN(const Tensor* first, required_input(ctx, 0, "inputs"));
    const int64_t rank = static_cast<int64_t>(first->rank());
    if (rank == 0) return runtime::kernel_error(node, "cannot concatenate scalars");
    QAT_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(node, node.attr_int("axis", 1), rank, "axis"));
    std::vector<int64_t> out_dims = first->dims();
    out_dims[axis] = 0;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
        QAT_ASSIGN_OR_RETURN(const Tensor* t, required_input(ctx, i, "inputs"));
        if (t->dtype() != first->dtype())
            return runtime::kernel_error(node, "input ", i, " has dtype ", dtype_name(t->dtype()), ", input 0 has ",
                                         dtype_name(first->dtype()));
        bool same = t->rank() == first->rank();
        for (int64_t d = 0; same && d < rank; ++d) same = d == axis || t->dim(d) == first->dim(d);
        if (!same)
            return runtime::kernel_error(node, "input ", i, " has shape ", dims_to_string(t->dims()),
                                         ", which does not match input 0 ", dims_to_string(first->dims()),
                                         " outside axis ", axis);
        out_dims[axis] += t->dim(axis);
    }
    Tensor& y = ctx.allocate_output(0, first->dtype(), out_dims);
    const int64_t outer = product(out_dims, 0, axis);
    const int64_t inner = product(out_dims, axis + 1, rank) * static_cast<int64_t>(dtype_size(first->dtype()));
    auto* dst = static_cast<uint8_t*>(y.raw_data());
    for (int64_t o = 0; o < outer; ++o) {
        for (size_t i = 0; i < ctx.num_inputs(); ++i) {
            const Tensor* t = ctx.input(i);
            const int64_t chunk = t->dim(axis) * inner;  // bytes of input i per outer index
            if (chunk == 0) continue;
            std::memcpy(dst, static_cast<const uint8_t*>(t->raw_data()) + o * chunk, chunk);
            dst += chunk;
        }
    }
    return OkStatus();
}

// Split into the node's outputs: sizes from the 'split' attribute (opset < 13) or input 1
// (opset >= 13), else equal parts.
Status run_split(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "input"));
    const int64_t rank = static_cast<int64_t>(x->rank());
    if (rank == 0) return runtime::kernel_error(node, "cannot split a scalar");
    QAT_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(node, node.attr_int("axis", 0), rank, "axis"));
    const int64_t n = static_cast<int64_t>(ctx.num_outputs());
    const int64_t dim = x->dim(axis);
    std::vector<int64_t> split;
    if (node.opset() < 13) {
        split = node.attr_ints("split");
    } else if (const Tensor* s = ctx.input(1); s && s->defined()) {
        QAT_ASSIGN_OR_RETURN(split, read_int_list(node, *s, "split"));
    }
    if (split.empty()) {
        if (n == 0 || dim % n != 0)
            return runtime::kernel_error(node, "cannot split axis ", axis, " of size ", dim, " into ", n,
                                         " equal parts");
        split.assign(n, dim / n);
    }
    if (static_cast<int64_t>(split.size()) != n)
        return runtime::kernel_error(node, "split ", dims_to_string(split), " has ", split.size(), " sizes for ", n,
                                     " outputs");
    int64_t total = 0;
    for (int64_t s : split) {
        if (s < 0) return runtime::kernel_error(node, "split ", dims_to_string(split), " has a negative size");
        total += s;
    }
    if (total != dim)
        return runtime::kernel_error(node, "split ", dims_to_string(split), " sums to ", total, ", but axis ", axis,
                                     " of input ", dims_to_string(x->dims()), " has size ", dim);
    const int64_t outer = product(x->dims(), 0, axis);
    const int64_t inner = product(x->dims(), axis + 1, rank) * static_cast<int64_t>(dtype_size(x->dtype()));
    const auto* src = static_cast<const uint8_t*>(x->raw_data());
    int64_t begin = 0;  // first index along axis of output k
    for (int64_t k = 0; k < n; ++k) {
        std::vector<int64_t> dims = x->dims();
        dims[axis] = split[k];
        if (output_is_read(node, static_cast<size_t>(k))) {
            Tensor& y = ctx.allocate_output(k, x->dtype(), dims);
            auto* dst = static_cast<uint8_t*>(y.raw_data());
            const int64_t chunk = split[k] * inner;
            for (int64_t o = 0; chunk > 0 && o < outer; ++o)
                std::memcpy(dst + o * chunk, src + (o * dim + begin) * inner, chunk);
        }
        begin += split[k];
    }
    return OkStatus();
}

// Slice: starts/ends/axes as attributes before opset 10, then starts, ends, axes, steps as
// inputs. Per the spec, negative starts/ends count from the end and are then clamped, to
// [0, dim] for positive steps and to [0, dim-1] (start) / [-1, dim-1] (end) for negative steps,
// so INT_MAX / INT_MIN ends mean "to the end" in either direction.
Status run_slice(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "data"));
    const int64_t rank = static_cast<int64_t>(x->rank());
    std::vector<int64_t> starts, ends, axes, steps;
    bool has_axes = false, has_steps = false;
    if (node.opset() < 10) {
        if (!node.has_attr("starts") || !node.has_attr("ends"))
            return runtime::kernel_error(node, "attributes starts and ends are required");
        starts = node.attr_ints("starts");
        ends = node.attr_ints("ends");
        has_axes = node.has_attr("axes");
        axes = node.attr_ints("axes");
    } else {
        QAT_ASSIGN_OR_RETURN(const Tensor* st, required_input(ctx, 1, "starts"));
        QAT_ASSIGN_OR_RETURN(const Tensor* en, required_input(ctx, 2, "ends"));
        QAT_ASSIGN_OR_RETURN(starts, read_int_list(node, *st, "starts"));
        QAT_ASSIGN_OR_RETURN(ends, read_int_list(node, *en, "ends"));
        if (const Tensor* a = ctx.input(3); a && a->defined()) {
            has_axes = true;
            QAT_ASSIGN_OR_RETURN(axes, read_int_list(node, *a, "axes"));
        }
        if (const Tensor* s = ctx.input(4); s && s->defined()) {
            has_steps = true;
            QAT_ASSIGN_OR_RETURN(steps, read_int_list(node, *s, "steps"));
        }
    }
    const size_t n = starts.size();
    if (!has_axes) {
        axes.resize(n);
        std::iota(axes.begin(), axes.end(), 0);
    }
    if (!has_steps) steps.assign(n, 1);
    if (ends.size() != n || axes.size() != n || steps.size() != n)
        return runtime::kernel_error(node, "starts, ends, axes and steps have different lengths (", n, ", ",
                                     ends.size(), ", ", axes.size(), ", ", steps.size(), ")");

    const std::vector<int64_t> in_strides = contiguous_strides(x->dims());
    std::vector<int64_t> out_dims = x->dims();
    std::vector<int64_t> src_strides = in_strides;
    int64_t src_offset = 0;
    std::set<int64_t> seen;
    for (size_t i = 0; i < n; ++i) {
        QAT_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(node, axes[i], rank, "axis"));
        if (!seen.insert(axis).second)
            return runtime::kernel_error(node, "axes ", dims_to_string(axes), " repeat ", axis);
        const int64_t step = steps[i];
        if (step == 0) return runtime::kernel_error(node, "step 0 on axis ", axis);
        const int64_t dim = x->dim(axis);
        int64_t start = starts[i] < 0 ? starts[i] + dim : starts[i];
        int64_t end = ends[i] < 0 ? ends[i] + dim : ends[i];
        int64_t count = 0;
        if (dim == 0) {
            count = 0;  // nothing to take (and the clamping ranges below would be empty)
        } else if (step > 0) {
            start = std::clamp(start, int64_t(0), dim);
            end = std::clamp(end, int64_t(0), dim);
            if (end > start) count = 1 + (end - start - 1) / step;
        } else {
            start = std::clamp(start, int64_t(0), dim - 1);
            end = std::clamp(end, int64_t(-1), dim - 1);
            // -step overflows for INT64_MIN; any step beyond the range gives one element anyway.
            const int64_t magnitude = step == std::numeric_limits<int64_t>::min() ? dim + 1 : -step;
            if (start > end) count = 1 + (start - end - 1) / magnitude;
        }
        out_dims[axis] = count;
        if (count > 0) src_offset += start * in_strides[axis];
        // With one element the step is never taken: keep the stride small so the offset
        // arithmetic of huge steps cannot overflow.
        src_strides[axis] = count > 1 ? in_strides[axis] * step : in_strides[axis];
    }
    Tensor& y = ctx.allocate_output(0, x->dtype(), out_dims);
    copy_strided(x->raw_data(), src_offset, src_strides, out_dims, y.raw_data(), dtype_size(x->dtype()));
    return OkStatus();
}

// Gather along axis: output dims are data[:axis] + indices.dims + data[axis+1:]; negative
// indices count from the end, anything outside [-dim, dim) is an error naming the index.
Status run_gather(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* data, required_input(ctx, 0, "data"));
    QAT_ASSIGN_OR_RETURN(const Tensor* indices, required_input(ctx, 1, "indices"));
    const int64_t rank = static_cast<int64_t>(data->rank());
    if (rank == 0) return runtime::kernel_error(node, "data must have rank >= 1");
    if (indices->dtype() != DataType::kInt32 && indices->dtype() != DataType::kInt64)
        return runtime::kernel_error(node, "indices must be int32 or int64, got ", dtype_name(indices->dtype()));
    QAT_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(node, node.attr_int("axis", 0), rank, "axis"));
    const int64_t dim = data->dim(axis);
    std::vector<int64_t> idx(static_cast<size_t>(indices->numel()));
    for (int64_t j = 0; j < indices->numel(); ++j) {
        int64_t v = indices->dtype() == DataType::kInt64 ? indices->data<int64_t>()[j] : indices->data<int32_t>()[j];
        if (v < -dim || v >= dim)
            return runtime::kernel_error(node, "index ", v, " is out of range for axis ", axis, " of size ", dim,
                                         " (data ", dims_to_string(data->dims()), ")");
        idx[j] = v < 0 ? v + dim : v;
    }
    std::vector<int64_t> out_dims(data->dims().begin(), data->dims().begin() + axis);
    out_dims.insert(out_dims.end(), indices->dims().begin(), indices->dims().end());
    out_dims.insert(out_dims.end(), data->dims().begin() + axis + 1, data->dims().end());
    Tensor& y = ctx.allocate_output(0, data->dtype(), out_dims);
    const int64_t outer = product(data->dims(), 0, axis);
    const int64_t inner = product(data->dims(), axis + 1, rank) * static_cast<int64_t>(dtype_size(data->dtype()));
    const auto* src = static_cast<const uint8_t*>(data->raw_data());
    auto* dst = static_cast<uint8_t*>(y.raw_data());
    const int64_t nidx = static_cast<int64_t>(idx.size());
    for (int64_t o = 0; inner > 0 && o < outer; ++o)
        for (int64_t j = 0; j < nidx; ++j)
            std::memcpy(dst + (o * nidx + j) * inner, src + (o * dim + idx[j]) * inner, inner);
    return OkStatus();
}

// Expand: broadcast the input with the shape input (bidirectionally, like numpy's
// broadcast_to after aligning shapes).
Status run_expand(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "input"));
    QAT_ASSIGN_OR_RETURN(const Tensor* s, required_input(ctx, 1, "shape"));
    QAT_ASSIGN_OR_RETURN(std::vector<int64_t> shape, read_int_list(node, *s, "shape"));
    for (int64_t d : shape)
        if (d < 0) return runtime::kernel_error(node, "shape ", dims_to_string(shape), " has a negative dim");
    std::vector<int64_t> out;
    if (!broadcast_shapes(x->dims(), shape, &out))
        return runtime::kernel_error(node, "cannot broadcast ", dims_to_string(x->dims()), " with shape ",
                                     dims_to_string(shape));
    QAT_RETURN_IF_ERROR(checked_numel(node, out, x->dtype()).status());
    Tensor& y = ctx.allocate_output(0, x->dtype(), out);
    copy_strided(x->raw_data(), 0, broadcast_strides(x->dims(), out), out, y.raw_data(), dtype_size(x->dtype()));
    return OkStatus();
}

void add_simple(runtime::KernelRegistry& reg, const std::string& op, KernelFn fn) {
    add_ref_kernel(reg, op,
                   [fn](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> { return make_fn_kernel(fn); });
}

}  // namespace

void register_data_movement_kernels(runtime::KernelRegistry& reg) {
    add_simple(reg, "Transpose", run_transpose);
    add_simple(reg, "Concat", run_concat);
    add_simple(reg, "Split", run_split);
    add_simple(reg, "Slice", run_slice);
    add_simple(reg, "Gather", run_gather);
    add_simple(reg, "Expand", run_expand);
}

}  // namespace qat::ref
