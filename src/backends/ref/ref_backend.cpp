#include "backends/ref/ref_backend.h"

#include "backends/ref/ref_ops.h"

namespace qat::ref {

void register_kernels(runtime::KernelRegistry& registry) {
    register_elementwise_kernels(registry);
    register_conv_kernels(registry);
    register_gemm_kernels(registry);
    register_batchnorm_kernels(registry);
    register_pool_kernels(registry);
    register_softmax_kernels(registry);
    register_reduce_kernels(registry);
    register_resize_kernels(registry);
    register_pad_kernels(registry);
    register_quantize_kernels(registry);
    register_shape_kernels(registry);
    register_fused_kernels(registry);
}

}  // namespace qat::ref
