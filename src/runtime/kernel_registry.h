// KernelRegistry: per (domain, op type) an ordered list of candidates; the first whose
// supports() is OK wins. Backends register in priority order (fast ones first); the reference
// backend registers last and covers every op, so it is the fallback and the oracle.
//
//   runtime::KernelRegistry reg;
//   onednn::register_kernels(reg);   // if compiled in
//   ref::register_kernels(reg);      // always last
//   auto sel = reg.select(node);     // sel->candidate->backend == "onednn" or "ref"
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/kernel.h"

namespace qat::runtime {

struct Refusal {
    std::string backend;
    std::string reason;
};

struct Selection {
    const KernelCandidate* candidate = nullptr;
    std::vector<Refusal> refusals;  // candidates tried before the winner, with their reasons
};

class KernelRegistry {
public:
    void add(const std::string& op_type, KernelCandidate candidate, const std::string& domain = "");
    bool has_op(const std::string& op_type, const std::string& domain = "") const;
    const std::vector<KernelCandidate>* candidates(const std::string& op_type, const std::string& domain = "") const;
    // First candidate (restricted to `backends` when non-empty) whose supports() is OK.
    // Error when none: the message lists each refusal.
    Result<Selection> select(const ir::Node& node, const std::vector<std::string>& backends = {}) const;
    // Op types with at least one candidate of `backend` (or any backend when empty).
    std::vector<std::string> op_types(const std::string& backend = "") const;

private:
    std::map<std::pair<std::string, std::string>, std::vector<KernelCandidate>> table_;
};

// Domain normalisation: ONNX's default domain may be written "" or "ai.onnx".
inline std::string normalize_domain(const std::string& d) { return d == "ai.onnx" ? std::string() : d; }

}  // namespace qat::runtime
