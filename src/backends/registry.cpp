#include "backends/registry.h"

#include <algorithm>

#include "backends/ref/ref_backend.h"
#ifdef QAT_WITH_ONEDNN
#include "backends/onednn/onednn_backend.h"
#endif

namespace qat::backends {

const runtime::KernelRegistry& default_registry() {
    static const runtime::KernelRegistry reg = [] {
        runtime::KernelRegistry r;
#ifdef QAT_WITH_ONEDNN
        onednn::register_kernels(r);
#endif
        ref::register_kernels(r);  // always last: the fallback for every op
        return r;
    }();
    return reg;
}

std::vector<std::string> available_backends() {
    std::vector<std::string> out;
#ifdef QAT_WITH_ONEDNN
    out.push_back("onednn");
#endif
    out.push_back("ref");
    return out;
}

bool is_available(const std::string& backend) {
    auto b = available_backends();
    return std::find(b.begin(), b.end(), backend) != b.end();
}

}  // namespace qat::backends
