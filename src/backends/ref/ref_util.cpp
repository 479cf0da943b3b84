#include "backends/ref/ref_util.h"

#include <algorithm>

namespace qat::ref {

Result<const Tensor*> required_input(const runtime::KernelContext& ctx, size_t i, const char* what) {
    const Tensor* t = ctx.input(i);
    if (!t || !t->defined()) return runtime::kernel_error(ctx.node(), "required input ", i, " (", what, ") is missing");
    return t;
}

Status check_dtype(const ir::Node& node, const Tensor& t, const char* what, std::initializer_list<DataType> allowed) {
    for (DataType d : allowed)
        if (t.dtype() == d) return OkStatus();
    std::string names;
    for (DataType d : allowed) names += std::string(names.empty() ? "" : ", ") + dtype_name(d);
    return runtime::kernel_error(node, "input ", what, " has dtype ", dtype_name(t.dtype()), ", expected one of ",
                                 names);
}

Status check_rank(const ir::Node& node, const Tensor& t, const char* what, size_t min_rank, size_t max_rank) {
    if (t.rank() >= min_rank && t.rank() <= max_rank) return OkStatus();
    if (min_rank == max_rank)
        return runtime::kernel_error(node, "input ", what, " has shape ", dims_to_string(t.dims()), ", expected rank ",
                                     min_rank);
    return runtime::kernel_error(node, "input ", what, " has shape ", dims_to_string(t.dims()), ", expected rank ",
                                 min_rank, " to ", max_rank);
}

Result<int64_t> normalize_axis(const ir::Node& node, int64_t axis, size_t rank, const char* what) {
    const int64_t r = static_cast<int64_t>(rank);
    if (axis < -r || axis >= r) return runtime::kernel_error(node, what, " ", axis, " is out of range for rank ", r);
    return axis < 0 ? axis + r : axis;
}

Result<std::vector<int64_t>> int_values(const ir::Node& node, const Tensor& t, const char* what) {
    std::vector<int64_t> v(static_cast<size_t>(t.numel()));
    if (t.dtype() == DataType::kInt64) {
        for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.data<int64_t>()[i];
    } else if (t.dtype() == DataType::kInt32) {
        for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.data<int32_t>()[i];
    } else {
        return runtime::kernel_error(node, "input ", what, " has dtype ", dtype_name(t.dtype()), ", expected i64");
    }
    return v;
}

Result<std::vector<double>> float_values(const ir::Node& node, const Tensor& t, const char* what) {
    std::vector<double> v(static_cast<size_t>(t.numel()));
    if (t.dtype() == DataType::kFloat32) {
        for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.data<float>()[i];
    } else if (t.dtype() == DataType::kFloat64) {
        for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.data<double>()[i];
    } else {
        return runtime::kernel_error(node, "input ", what, " has dtype ", dtype_name(t.dtype()), ", expected f32");
    }
    return v;
}

bool output_is_read(const ir::Node& node, size_t i) {
    const ir::Value* v = node.output(i);
    return v && (v->has_uses() || v->is_graph_output());
}

Status check_output_dims(const ir::Node& node, const std::vector<int64_t>& dims, DataType dtype) {
    const int64_t limit = kMaxOutputBytes / static_cast<int64_t>(std::max<size_t>(1, dtype_size(dtype)));
    bool empty = false;
    for (int64_t d : dims) {
        if (d < 0) return runtime::kernel_error(node, "output shape ", dims_to_string(dims), " has a negative dim");
        // Each dim alone must be sane too: kernels build per-dim index tables even for empty outputs.
        if (d > limit)
            return runtime::kernel_error(node, "output shape ", dims_to_string(dims), " is larger than ",
                                         kMaxOutputBytes >> 30, " GiB");
        empty = empty || d == 0;
    }
    if (empty) return OkStatus();
    int64_t n = 1;
    for (int64_t d : dims) {
        if (n > limit / d)
            return runtime::kernel_error(node, "output shape ", dims_to_string(dims), " is larger than ",
                                         kMaxOutputBytes >> 30, " GiB");
        n *= d;
    }
    return OkStatus();
}

std::vector<int64_t> strides_of(const std::vector<int64_t>& dims) {
    std::vector<int64_t> s(dims.size(), 1);
    for (size_t i = dims.size(); i-- > 1;) s[i - 1] = s[i] * dims[i];
    return s;
}

std::vector<int64_t> pad_front(std::vector<int64_t> dims, size_t rank, int64_t fill) {
    if (dims.size() < rank) dims.insert(dims.begin(), rank - dims.size(), fill);
    return dims;
}

}  // namespace qat::ref
