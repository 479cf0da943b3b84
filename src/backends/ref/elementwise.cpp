// Element-wise ops (placeholder set: Relu, Add) until the full reference backend lands.
#include <algorithm>

#include "backends/ref/ref_ops.h"

namespace qat::ref {

void register_elementwise_kernels(runtime::KernelRegistry& reg) {
    add_ref_kernel(reg, "Relu", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel([](runtime::KernelContext& ctx) -> Status {
            const Tensor* x = ctx.input(0);
            if (x->dtype() != DataType::kFloat32) return runtime::kernel_error(ctx.node(), "expects f32");
            Tensor& y = ctx.allocate_output(0, x->dtype(), x->dims());
            for (int64_t i = 0; i < x->numel(); ++i) y.data<float>()[i] = std::max(0.0f, x->data<float>()[i]);
            return OkStatus();
        });
    });
    add_ref_kernel(reg, "Add", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel([](runtime::KernelContext& ctx) -> Status {
            const Tensor* a = ctx.input(0);
            const Tensor* b = ctx.input(1);
            if (a->dims() != b->dims())
                return runtime::kernel_error(ctx.node(), "shapes ", dims_to_string(a->dims()), " and ",
                                             dims_to_string(b->dims()), " differ");
            Tensor& y = ctx.allocate_output(0, a->dtype(), a->dims());
            for (int64_t i = 0; i < a->numel(); ++i)
                y.data<float>()[i] = a->data<float>()[i] + b->data<float>()[i];
            return OkStatus();
        });
    });
}

}  // namespace qat::ref
