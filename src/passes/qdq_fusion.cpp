#include "passes/qdq_fusion.h"

#include "passes/qdq_actions.h"
#include "passes/qdq_selectors.h"

namespace qat::passes {
namespace {

constexpr const char* kReasonTag = "qat-fp32: ";

// Selection in match(), action in apply(): the match keeps only the anchor node, and apply()
// selects again (cheap) so the group it emits is the one the graph holds now.
enum class RuleKind { kWeighted, kEltwise, kFp32Conv };

class FusionRule : public RewriteRule {
  public:
    FusionRule(std::string name, RuleKind kind) : name_(std::move(name)), kind_(kind) {}
    std::string name() const override { return name_; }

    bool match(const ir::Graph&, ir::Node& n, Match& m) const override {
        if (!applies_to(n)) return false;
        Selection s = select(n);
        if (!s.ok) return false;
        m.nodes = {&n};
        return true;
    }

    Result<std::string> apply(ir::Graph& g, const Match& m) override {
        Selection s = select(*m.nodes[0]);
        if (!s.ok) return internal_error("fusion group vanished between match and apply");
        std::string what;
        for (const ir::Node* n : s.group.absorbed) what += (what.empty() ? "" : ", ") + n->desc();
        auto f = emit_fused(g, s.group);
        if (!f.ok()) return std::move(f).take_status().with_context("while fusing " + s.group.op->desc());
        return (*f)->op_type() + " '" + (*f)->name() + "' from " + what;
    }

  private:
    Selection select(ir::Node& n) const {
        return kind_ == RuleKind::kFp32Conv ? select_fp32_conv(n) : select_fusion(n);
    }
    bool applies_to(const ir::Node& n) const {
        if (!is_fusion_candidate(n)) return false;
        if (kind_ == RuleKind::kFp32Conv) return n.op_type() == "Conv";
        const bool w = n.op_type() != "Add" && n.op_type() != "Mul" && n.op_type() != "AveragePool" &&
                       n.op_type() != "GlobalAveragePool";
        return w == (kind_ == RuleKind::kWeighted);
    }
    std::string name_;
    RuleKind kind_;
};

class AnnotateFp32Pass : public Pass {
  public:
    std::string name() const override { return "annotate-fp32"; }
    Result<bool> run(ir::Graph& g, PassContext&) override {
        bool changed = false;
        for (ir::Node* n : g.nodes()) {
            if (!is_fusion_candidate(*n)) continue;
            Selection s = select_fusion(*n);
            std::string reason = s.ok ? "fusable but not fused" : s.reason;
            if (fp32_reason(*n) != reason) {
                set_fp32_reason(*n, reason);
                changed = true;
            }
        }
        return changed;
    }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_qdq_weighted_pass() {
    std::vector<std::unique_ptr<RewriteRule>> rules;
    rules.push_back(std::make_unique<FusionRule>("fuse-weighted", RuleKind::kWeighted));
    return std::make_unique<RuleSetPass>("fuse-qdq-weighted", std::move(rules));
}

std::unique_ptr<Pass> make_fuse_qdq_eltwise_pass() {
    std::vector<std::unique_ptr<RewriteRule>> rules;
    rules.push_back(std::make_unique<FusionRule>("fuse-eltwise", RuleKind::kEltwise));
    return std::make_unique<RuleSetPass>("fuse-qdq-eltwise", std::move(rules));
}

std::unique_ptr<Pass> make_fuse_fp32_conv_pass() {
    std::vector<std::unique_ptr<RewriteRule>> rules;
    rules.push_back(std::make_unique<FusionRule>("fuse-fp32-conv", RuleKind::kFp32Conv));
    return std::make_unique<RuleSetPass>("fuse-fp32-conv", std::move(rules));
}

std::unique_ptr<Pass> make_annotate_fp32_pass() { return std::make_unique<AnnotateFp32Pass>(); }

std::string fp32_reason(const ir::Node& node) {
    const std::string& d = node.doc_string;
    size_t p = d.find(kReasonTag);
    if (p == std::string::npos) return "";
    p += std::string(kReasonTag).size();
    size_t e = d.find('\n', p);
    return d.substr(p, e == std::string::npos ? std::string::npos : e - p);
}

void set_fp32_reason(ir::Node& node, const std::string& reason) {
    std::string& d = node.doc_string;
    size_t p = d.find(kReasonTag);
    if (p != std::string::npos) {
        size_t e = d.find('\n', p);
        d.erase(p, e == std::string::npos ? std::string::npos : e - p + 1);
        while (!d.empty() && d.back() == '\n') d.pop_back();
    }
    if (reason.empty()) return;
    if (!d.empty()) d += '\n';
    d += kReasonTag + reason;
}

}  // namespace qat::passes
