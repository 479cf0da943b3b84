#include "backends/onednn/onednn_backend.h"

namespace qat::onednn {

void register_kernels(runtime::KernelRegistry& registry) {
    (void)registry;  // kernels land with the engine issue
}

}  // namespace qat::onednn
