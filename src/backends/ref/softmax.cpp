// Softmax, with the two ONNX semantics:
//  - opset < 13: the input is coerced to 2-D [prod(dims[:axis]), prod(dims[axis:])] and the
//    softmax runs over each row (axis default 1);
//  - opset >= 13: the softmax runs along the single dim `axis` (default -1).
// Both subtract the maximum first so large inputs do not overflow.
#include <cmath>
#include <limits>

#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_util.h"

namespace qat::ref {
namespace {

// Softmax over `len` elements spaced `stride` apart, for each of outer x inner starting points.
template <typename T>
void softmax(const T* x, T* y, int64_t outer, int64_t len, int64_t inner) {
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t in = 0; in < inner; ++in) {
            const T* xp = x + o * len * inner + in;
            T* yp = y + o * len * inner + in;
            double mx = -std::numeric_limits<double>::infinity();
            for (int64_t i = 0; i < len; ++i) mx = std::max(mx, static_cast<double>(xp[i * inner]));
            double sum = 0.0;
            for (int64_t i = 0; i < len; ++i) sum += std::exp(static_cast<double>(xp[i * inner]) - mx);
            for (int64_t i = 0; i < len; ++i)
                yp[i * inner] = static_cast<T>(std::exp(static_cast<double>(xp[i * inner]) - mx) / sum);
        }
}

Status run_softmax(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "input"));
    QAT_RETURN_IF_ERROR(check_dtype(node, *x, "input", {DataType::kFloat32, DataType::kFloat64}));
    if (x->rank() == 0) return runtime::kernel_error(node, "input is a scalar, expected rank >= 1");
    const int64_t opset = node.opset();
    const bool single_axis = opset == 0 || opset >= 13;
    QAT_ASSIGN_OR_RETURN(int64_t axis, normalize_axis(node, node.attr_int("axis", single_axis ? -1 : 1), x->rank()));
    int64_t outer = 1, len = 1, inner = 1;
    for (size_t i = 0; i < x->rank(); ++i) {
        const int64_t d = x->dim(i);
        if (static_cast<int64_t>(i) < axis)
            outer *= d;
        else if (static_cast<int64_t>(i) == axis || !single_axis)
            len *= d;  // coerced 2-D: everything from axis on is one row
        else
            inner *= d;
    }
    Tensor& y = ctx.allocate_output(0, x->dtype(), x->dims());
    if (x->dtype() == DataType::kFloat32)
        softmax<float>(x->data<float>(), y.data<float>(), outer, len, inner);
    else
        softmax<double>(x->data<double>(), y.data<double>(), outer, len, inner);
    return OkStatus();
}

}  // namespace

void register_softmax_kernels(runtime::KernelRegistry& reg) {
    add_ref_kernel(reg, "Softmax", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel(run_softmax);
    });
}

}  // namespace qat::ref
