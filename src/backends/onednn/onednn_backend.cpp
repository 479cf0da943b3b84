#include "backends/onednn/onednn_backend.h"

#include "backends/onednn/onednn_common.h"

namespace qat::onednn {

void register_kernels(runtime::KernelRegistry& registry) {
    register_conv(registry);
    register_matmul(registry);
    register_pool(registry);
    register_eltwise(registry);
    register_binary(registry);
    register_misc(registry);
}

}  // namespace qat::onednn
