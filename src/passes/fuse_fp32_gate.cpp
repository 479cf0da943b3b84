#include "passes/fuse_fp32_gate.h"

#include <string>
#include <vector>

#include "ir/fused_ops.h"
#include "passes/qdq_util.h"

namespace qat::passes {
namespace {

namespace fused = ir::fused;

bool is_float4d(const ir::Value* v) {
    return v && v->dtype() == DataType::kFloat32 && v->shape().rank_known() && v->shape().rank() == 4;
}

// `g` gates `x` channel by channel: [N or 1, C, 1, 1] against x's [N, C, H, W], C known.
bool is_gate_of(const ir::Value* g, const ir::Value* x) {
    if (!is_float4d(g) || !is_float4d(x) || g->is_constant()) return false;
    const Shape& gs = g->shape();
    const Shape& xs = x->shape();
    if (!gs[1].is_static() || !(gs[1] == xs[1])) return false;
    for (size_t d = 2; d < 4; ++d)
        if (!gs[d].is_static() || gs[d].value != 1) return false;
    const bool one = gs[0].is_static() && gs[0].value == 1;
    // A spatial extent of 1 on x too would make the roles ambiguous (both look like gates).
    const bool x_has_plane = !(xs[2].is_static() && xs[2].value == 1 && xs[3].is_static() && xs[3].value == 1);
    return (one || gs[0] == xs[0]) && x_has_plane;
}

bool is_float_conv(const ir::Node& n) {
    if (is_op(&n, "Conv")) return true;
    return fused::is_fp32_fused_op(n) && !n.input(4);
}

class GateRule : public RewriteRule {
  public:
    std::string name() const override { return "fuse-fp32-gate"; }

    bool match(const ir::Graph&, ir::Node& conv, Match& m) const override {
        if (!is_float_conv(conv) || conv.attr_int("group", 1) != 1) return false;
        const ir::Value* w = conv.input(1);
        if (!w || !w->is_constant() || w->constant().dtype() != DataType::kFloat32 || w->constant().rank() != 4)
            return false;
        for (size_t i = 1; i < conv.num_outputs(); ++i)
            if (conv.output(i)) return false;
        ir::Node* mul = producer_of(conv, 0);
        if (!is_op(mul, "Mul") || mul->num_inputs() != 2 || sole_consumer(mul->output(0)) != &conv) return false;
        if (!is_gate_of(mul->input(1), mul->input(0)) && !is_gate_of(mul->input(0), mul->input(1))) return false;
        m.nodes = {&conv, mul};
        return true;
    }

    Result<std::string> apply(ir::Graph& g, const Match& m) override {
        ir::Node* conv = m.nodes[0];
        ir::Node* mul = m.nodes[1];
        const bool gate_second = is_gate_of(mul->input(1), mul->input(0));
        ir::Value* x = mul->input(gate_second ? 0 : 1);
        ir::Value* gate = mul->input(gate_second ? 1 : 0);
        std::vector<ir::Value*> ins{x, conv->input(1), conv->input(2), conv->input(3), gate};
        const std::string name = conv->name();
        ir::Node* f = g.add_node(fused::kFusedConv, ins, {conv->output(0)->name() + ".gated"},
                                 g.unique_node_name(name.empty() ? "FusedConv" : name + ".gated"), fused::kDomain);
        for (const auto& [k, a] : conv->attrs()) f->set_attr(k, a);
        f->doc_string = conv->doc_string;
        std::vector<std::string> absorbed;
        if (const ir::Attribute* a = conv->attr("absorbed"); a && a->kind == ir::Attribute::Kind::kStrings)
            absorbed = a->strings;
        if (absorbed.empty()) {
            absorbed.push_back(name.empty() ? conv->op_type() : name);
            for (const std::string& n : folded_names(*conv)) absorbed.push_back(n);
        }
        absorbed.push_back(mul->name().empty() ? "Mul" : mul->name());
        f->set_attr("absorbed", ir::Attribute::from_strings(absorbed));
        ir::Value* out = f->output(0);
        out->set_dtype(DataType::kFloat32);
        out->set_shape(conv->output(0)->shape());
        auto info = fused::read_fused_op(*f);
        if (!info.ok()) {
            g.remove_node(f);
            return std::move(info).take_status();
        }
        const std::string what = conv->desc() + " takes " + mul->desc() + " as its gate";
        replace_value(g, conv->output(0), out);
        remove_if_dead(g, {mul, conv});
        if (!name.empty() && !g.find_node(name)) f->set_name(name);
        return what;
    }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_fp32_gate_pass() {
    std::vector<std::unique_ptr<RewriteRule>> rules;
    rules.push_back(std::make_unique<GateRule>());
    return std::make_unique<RuleSetPass>("fuse-fp32-gate", std::move(rules));
}

}  // namespace qat::passes
