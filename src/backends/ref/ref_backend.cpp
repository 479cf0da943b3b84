#include "backends/ref/ref_backend.h"

#include "backends/ref/ref_ops.h"

namespace qat::ref {

void register_kernels(runtime::KernelRegistry& registry) {
    register_elementwise_kernels(registry);
}

}  // namespace qat::ref
