// BatchNormalization, inference form:
//   y = (x - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + B[c]   for X = [N, C, D1, ...].
//
// Training mode (opset 14+ training_mode=1, or the running-statistics outputs of older opsets)
// updates statistics from the batch; qat folds or fine-tunes BN elsewhere (train/), so the
// reference backend declines those nodes with a reason instead of computing something else.
#include <cmath>

#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_util.h"

namespace qat::ref {
namespace {

Status supports_batchnorm(const ir::Node& node) {
    if (node.attr_int("training_mode", 0) != 0)
        return unsupported("BatchNormalization training_mode=1 (batch statistics) is not an inference op");
    for (size_t i = 1; i < node.num_outputs(); ++i)
        if (output_is_read(node, i))
            return unsupported(
                "BatchNormalization outputs beyond Y (running / saved statistics) exist only in "
                "training mode");
    if (node.attr_int("spatial", 1) != 1)
        return unsupported("BatchNormalization spatial=0 (per-activation statistics, opset < 9) is not supported");
    return OkStatus();
}

template <typename T>
void batchnorm(const T* x, const T* scale, const T* bias, const T* mean, const T* var, T* y, int64_t n, int64_t c,
               int64_t plane, double eps) {
    for (int64_t ch = 0; ch < c; ++ch) {
        const double inv_std = 1.0 / std::sqrt(static_cast<double>(var[ch]) + eps);
        const double a = static_cast<double>(scale[ch]) * inv_std;
        for (int64_t b = 0; b < n; ++b) {
            const T* xp = x + (b * c + ch) * plane;
            T* yp = y + (b * c + ch) * plane;
            for (int64_t i = 0; i < plane; ++i)
                yp[i] = static_cast<T>((static_cast<double>(xp[i]) - mean[ch]) * a + bias[ch]);
        }
    }
}

Status run_batchnorm(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_RETURN_IF_ERROR(supports_batchnorm(node));
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "X"));
    QAT_RETURN_IF_ERROR(check_dtype(node, *x, "X", {DataType::kFloat32, DataType::kFloat64}));
    QAT_RETURN_IF_ERROR(check_rank(node, *x, "X", 2, 8));
    const int64_t c = x->dim(1);
    static const char* kNames[] = {"X", "scale", "B", "input_mean", "input_var"};
    const Tensor* p[5] = {x};
    for (size_t i = 1; i < 5; ++i) {
        QAT_ASSIGN_OR_RETURN(p[i], required_input(ctx, i, kNames[i]));
        if (p[i]->dtype() != x->dtype())
            return runtime::kernel_error(node, kNames[i], " has dtype ", dtype_name(p[i]->dtype()), ", X has ",
                                         dtype_name(x->dtype()));
        if (p[i]->rank() != 1 || p[i]->dim(0) != c)
            return runtime::kernel_error(node, kNames[i], " has shape ", dims_to_string(p[i]->dims()), ", expected [",
                                         c, "] for X ", dims_to_string(x->dims()));
    }
    const double eps = node.attr_float("epsilon", 1e-5f);
    const int64_t n = x->dim(0);
    const int64_t plane = (n * c) == 0 ? 0 : x->numel() / (n * c);
    Tensor& y = ctx.allocate_output(0, x->dtype(), x->dims());
    if (x->dtype() == DataType::kFloat32)
        batchnorm<float>(x->data<float>(), p[1]->data<float>(), p[2]->data<float>(), p[3]->data<float>(),
                         p[4]->data<float>(), y.data<float>(), n, c, plane, eps);
    else
        batchnorm<double>(x->data<double>(), p[1]->data<double>(), p[2]->data<double>(), p[3]->data<double>(),
                          p[4]->data<double>(), y.data<double>(), n, c, plane, eps);
    return OkStatus();
}

}  // namespace

void register_batchnorm_kernels(runtime::KernelRegistry& reg) {
    add_ref_kernel(
        reg, "BatchNormalization",
        [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> { return make_fn_kernel(run_batchnorm); },
        supports_batchnorm);
}

}  // namespace qat::ref
