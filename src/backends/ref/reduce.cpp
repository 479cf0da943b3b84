// ReduceMean: the mean over `axes` (all dims when absent), keeping them as size-1 dims when
// keepdims=1. Axes come from the attribute (opset < 18) or from the optional second input
// (opset 18's form, accepted when present).
#include <cmath>
#include <vector>

#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_util.h"

namespace qat::ref {
namespace {

template <typename T>
void reduce_mean(const T* x, T* y, const std::vector<int64_t>& dims, const std::vector<bool>& reduced,
                 int64_t out_numel) {
    // Each input element adds into the output element whose index drops the reduced dims.
    std::vector<double> sum(static_cast<size_t>(out_numel), 0.0);
    std::vector<int64_t> out_strides(dims.size(), 0);
    int64_t s = 1;
    for (size_t i = dims.size(); i-- > 0;) {
        if (!reduced[i]) {
            out_strides[i] = s;
            s *= dims[i];
        }
    }
    const int64_t n = numel_of(dims);
    std::vector<int64_t> idx(dims.size(), 0);
    for (int64_t e = 0; e < n; ++e) {
        int64_t o = 0;
        for (size_t i = 0; i < dims.size(); ++i) o += idx[i] * out_strides[i];
        sum[o] += static_cast<double>(x[e]);
        for (size_t i = dims.size(); i-- > 0;) {
            if (++idx[i] < dims[i]) break;
            idx[i] = 0;
        }
    }
    const int64_t count = out_numel == 0 ? 0 : n / out_numel;
    for (int64_t o = 0; o < out_numel; ++o) y[o] = static_cast<T>(count > 0 ? sum[o] / count : NAN);
}

Status run_reduce_mean(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "data"));
    QAT_RETURN_IF_ERROR(check_dtype(node, *x, "data", {DataType::kFloat32, DataType::kFloat64}));
    std::vector<int64_t> axes = node.attr_ints("axes");
    if (const Tensor* a = ctx.input(1)) {
        QAT_ASSIGN_OR_RETURN(axes, int_values(node, *a, "axes"));
    }
    const bool keepdims = node.attr_int("keepdims", 1) != 0;
    const bool noop_with_empty_axes = node.attr_int("noop_with_empty_axes", 0) != 0;
    std::vector<bool> reduced(x->rank(), axes.empty() && !noop_with_empty_axes);
    for (int64_t a : axes) {
        QAT_ASSIGN_OR_RETURN(int64_t ax, normalize_axis(node, a, x->rank(), "axes value"));
        if (reduced[ax]) return runtime::kernel_error(node, "axes ", dims_to_string(axes), " repeat axis ", ax);
        reduced[ax] = true;
    }
    std::vector<int64_t> out_dims;
    int64_t out_numel = 1;
    for (size_t i = 0; i < x->rank(); ++i) {
        if (!reduced[i]) {
            out_dims.push_back(x->dim(i));
            out_numel *= x->dim(i);
        } else if (keepdims) {
            out_dims.push_back(1);
        }
    }
    Tensor& y = ctx.allocate_output(0, x->dtype(), out_dims);
    if (x->dtype() == DataType::kFloat32)
        reduce_mean<float>(x->data<float>(), y.data<float>(), x->dims(), reduced, out_numel);
    else
        reduce_mean<double>(x->data<double>(), y.data<double>(), x->dims(), reduced, out_numel);
    return OkStatus();
}

}  // namespace

void register_reduce_kernels(runtime::KernelRegistry& reg) {
    add_ref_kernel(reg, "ReduceMean", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel(run_reduce_mean);
    });
}

}  // namespace qat::ref
