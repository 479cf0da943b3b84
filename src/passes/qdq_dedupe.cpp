#include "passes/qdq_dedupe.h"

#include "passes/qdq_util.h"

namespace qat::passes {
namespace {

bool same_attrs(const ir::Node& a, const ir::Node& b) {
    if (a.attrs().size() != b.attrs().size()) return false;
    for (const auto& [k, v] : a.attrs()) {
        const ir::Attribute* o = b.attr(k);
        if (!o || !(*o == v)) return false;
    }
    return true;
}

// Match layout: {duplicate, keeper}.
class QdqDedupeRule : public RewriteRule {
  public:
    std::string name() const override { return "qdq-dedupe"; }

    bool match(const ir::Graph&, ir::Node& n, Match& m) const override {
        if (!is_q(&n) && !is_dq(&n)) return false;
        if (n.output(0)->is_graph_output()) return false;
        const ir::Value* x = n.input(0);
        if (!x) return false;
        QuantParams p;
        if (!const_qdq_params(n, &p)) return false;
        for (const ir::Use& u : x->uses()) {
            ir::Node* k = u.node;
            if (k == &n || u.index != 0 || k->op_type() != n.op_type() || k->domain() != n.domain()) continue;
            QuantParams pk;
            if (!const_qdq_params(*k, &pk) || !same_qparams(p, pk) || !same_attrs(n, *k)) continue;
            // Merge into the node met first in the use-list, so two duplicates agree on a keeper.
            m.nodes = {&n, k};
            return true;
        }
        return false;
    }

    Result<std::string> apply(ir::Graph& g, const Match& m) override {
        ir::Node* dup = m.nodes[0];
        ir::Node* keep = m.nodes[1];
        const std::string desc = dup->desc() + " into " + keep->desc();
        replace_value(g, dup->output(0), keep->output(0), /*keep_name=*/false);
        remove_if_dead(g, {dup});
        return desc;
    }
};

}  // namespace

std::unique_ptr<RewriteRule> make_qdq_dedupe_rule() { return std::make_unique<QdqDedupeRule>(); }

std::unique_ptr<Pass> make_qdq_dedupe_pass(const std::string& name) {
    std::vector<std::unique_ptr<RewriteRule>> rules;
    rules.push_back(make_qdq_dedupe_rule());
    return std::make_unique<RuleSetPass>(name, std::move(rules));
}

}  // namespace qat::passes
