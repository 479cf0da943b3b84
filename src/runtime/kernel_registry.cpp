#include "runtime/kernel_registry.h"

#include <algorithm>

#include "core/logging.h"

namespace qat::runtime {

void KernelRegistry::add(const std::string& op_type, KernelCandidate candidate, const std::string& domain) {
    table_[{normalize_domain(domain), op_type}].push_back(std::move(candidate));
}

bool KernelRegistry::has_op(const std::string& op_type, const std::string& domain) const {
    return table_.count({normalize_domain(domain), op_type}) > 0;
}

const std::vector<KernelCandidate>* KernelRegistry::candidates(const std::string& op_type,
                                                               const std::string& domain) const {
    auto it = table_.find({normalize_domain(domain), op_type});
    return it == table_.end() ? nullptr : &it->second;
}

Result<Selection> KernelRegistry::select(const ir::Node& node, const std::vector<std::string>& backends) const {
    const auto* cands = candidates(node.op_type(), node.domain());
    if (!cands) return unsupported("no kernel for op ", node.op_type(), " (node '", node.name(), "')");
    Selection sel;
    for (const auto& c : *cands) {
        if (!backends.empty() && std::find(backends.begin(), backends.end(), c.backend) == backends.end()) continue;
        Status s = c.supports ? c.supports(node) : OkStatus();
        if (s.ok()) {
            sel.candidate = &c;
            QAT_VLOG("dispatch") << node.desc() << " -> " << c.backend;
            return sel;
        }
        QAT_VLOG("dispatch") << c.backend << " declined " << node.desc() << ": " << s.message();
        sel.refusals.push_back({c.backend, s.message()});
    }
    std::string why;
    for (const auto& r : sel.refusals) why += (why.empty() ? "" : "; ") + r.backend + ": " + r.reason;
    if (why.empty()) why = "no candidate among the selected backends";
    return unsupported("no backend can run ", node.desc(), ": ", why);
}

std::vector<std::string> KernelRegistry::op_types(const std::string& backend) const {
    std::vector<std::string> out;
    for (const auto& [key, cands] : table_) {
        bool any = backend.empty();
        for (const auto& c : cands) any = any || c.backend == backend;
        if (any) out.push_back(key.first.empty() ? key.second : key.first + "::" + key.second);
    }
    return out;
}

}  // namespace qat::runtime
