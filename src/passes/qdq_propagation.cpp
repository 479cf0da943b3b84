#include "passes/qdq_propagation.h"

#include <limits>
#include <set>

#include "core/qmath.h"
#include "passes/qdq_dedupe.h"
#include "passes/qdq_util.h"

namespace qat::passes {
namespace {

// A per-tensor Q/DQ with constant parameters.
bool per_tensor_params(const ir::Node* n, QuantParams* p) { return n && const_qdq_params(*n, p) && p->per_tensor(); }

bool moves_ok(const ir::Node& f) {
    if (!commutes_with_quantization(f.op_type()) || !(f.domain().empty() || f.domain() == "ai.onnx")) return false;
    if (f.num_inputs() == 0 || !f.input(0) || f.num_outputs() == 0) return false;
    // Only output 0 may be in use (MaxPool's Indices, Dropout-like masks).
    for (size_t i = 1; i < f.num_outputs(); ++i)
        if (f.output(i) && (f.output(i)->has_uses() || f.output(i)->is_graph_output())) return false;
    return true;
}

// A copy of `f` (op, domain, attributes, inputs 1..) reading `in0` (or `ins` for Concat), whose
// output has dtype `dtype` and f's output shape. Takes f's name once f is gone (rename_later).
ir::Node* clone_op(ir::Graph& g, const ir::Node& f, const std::vector<ir::Value*>& ins, DataType dtype) {
    ir::Node* c = g.add_node(f.op_type(), ins, {f.output(0)->name() + ".int"},
                             g.unique_node_name(f.name().empty() ? f.op_type() : f.name()), f.domain());
    for (const auto& [k, a] : f.attrs()) c->set_attr(k, a);
    c->output(0)->set_dtype(dtype);
    c->output(0)->set_shape(f.output(0)->shape());
    return c;
}

// A Q or DQ like `like` (same parameters and attributes) on x.
ir::Node* clone_qdq(ir::Graph& g, const ir::Node& like, ir::Value* x, const std::string& out_name, const Shape& shape) {
    std::vector<ir::Value*> ins{x, like.input(1)};
    if (like.input(2)) ins.push_back(like.input(2));
    ir::Node* c = g.add_node(like.op_type(), ins, {out_name},
                             g.unique_node_name(like.name().empty() ? like.op_type() : like.name()), like.domain());
    for (const auto& [k, a] : like.attrs()) c->set_attr(k, a);
    QuantParams p;
    const_qdq_params(like, &p);
    c->output(0)->set_dtype(is_dq(&like) ? DataType::kFloat32 : p.qtype);
    c->output(0)->set_shape(shape);
    return c;
}

// Whether `v` may be renamed to take over a graph output's name.
bool can_take_name(const ir::Value* v) { return !v->is_graph_input() && !v->is_graph_output(); }

void take_name(ir::Node* n, const std::string& name) {
    if (!name.empty()) n->set_name(name);
}

// dq-later: Match {f, dq}.
class DqLaterRule : public RewriteRule {
  public:
    std::string name() const override { return "dq-later"; }
    bool match(const ir::Graph&, ir::Node& f, Match& m) const override {
        if (!moves_ok(f)) return false;
        ir::Node* dq = producer_of(f, 0);
        QuantParams p;
        if (!is_dq(dq) || !per_tensor_params(dq, &p)) return false;
        // Other inputs of f must not be the dequantized tensor itself.
        for (size_t i = 1; i < f.num_inputs(); ++i)
            if (f.input(i) == dq->output(0)) return false;
        m.nodes = {&f, dq};
        return true;
    }
    Result<std::string> apply(ir::Graph& g, const Match& m) override {
        ir::Node* f = m.nodes[0];
        ir::Node* dq = m.nodes[1];
        std::vector<ir::Value*> ins(f->inputs().begin(), f->inputs().end());
        ins[0] = dq->input(0);
        ir::Node* fi = clone_op(g, *f, ins, dq->input(0)->dtype());
        ir::Node* nd = clone_qdq(g, *dq, fi->output(0), f->output(0)->name() + ".dq", f->output(0)->shape());
        const std::string desc = "moved " + dq->desc() + " after " + f->desc();
        const std::string fname = f->name();
        replace_value(g, f->output(0), nd->output(0));
        remove_if_dead(g, {dq, f});
        take_name(fi, fname);
        return desc;
    }
};

// concat-dq-later: Match {concat, dq_0, dq_1, ...}.
class ConcatDqLaterRule : public RewriteRule {
  public:
    std::string name() const override { return "concat-dq-later"; }
    bool match(const ir::Graph&, ir::Node& c, Match& m) const override {
        if (!is_op(&c, "Concat") || c.num_inputs() < 1 || c.num_outputs() != 1) return false;
        QuantParams first;
        std::vector<ir::Node*> dqs;
        for (size_t i = 0; i < c.num_inputs(); ++i) {
            ir::Node* dq = producer_of(c, i);
            QuantParams p;
            if (!is_dq(dq) || !per_tensor_params(dq, &p)) return false;
            if (i == 0)
                first = p;
            else if (!same_qparams(first, p))
                return false;
            dqs.push_back(dq);
        }
        m.nodes = {&c};
        m.nodes.insert(m.nodes.end(), dqs.begin(), dqs.end());
        return true;
    }
    Result<std::string> apply(ir::Graph& g, const Match& m) override {
        ir::Node* c = m.nodes[0];
        std::vector<ir::Value*> ins;
        for (size_t i = 1; i < m.nodes.size(); ++i) ins.push_back(m.nodes[i]->input(0));
        ir::Node* ci = clone_op(g, *c, ins, ins[0]->dtype());
        ir::Node* nd = clone_qdq(g, *m.nodes[1], ci->output(0), c->output(0)->name() + ".dq", c->output(0)->shape());
        const std::string desc = "moved " + std::to_string(ins.size()) + " DequantizeLinear after " + c->desc();
        const std::string cname = c->name();
        replace_value(g, c->output(0), nd->output(0));
        std::vector<ir::Node*> dead(m.nodes.begin() + 1, m.nodes.end());
        dead.push_back(c);
        remove_if_dead(g, dead);
        take_name(ci, cname);
        return desc;
    }
};

// q-earlier: Match {q, f}.
class QEarlierRule : public RewriteRule {
  public:
    std::string name() const override { return "q-earlier"; }
    bool match(const ir::Graph&, ir::Node& q, Match& m) const override {
        QuantParams p;
        if (!is_q(&q) || !per_tensor_params(&q, &p)) return false;
        ir::Node* f = producer_of(q, 0);
        if (!f || sole_consumer(f->output(0)) != &q) return false;
        // f is type-preserving and Q reads its output, so f's data inputs are float already.
        if (is_op(f, "Concat")) {
            for (const ir::Value* in : f->inputs())
                if (!in) return false;
        } else {
            if (!moves_ok(*f)) return false;
            // Keep dq-later's territory: DQ -> f -> Q is handled there (f then runs on int8).
            if (is_dq(producer_of(*f, 0))) return false;
        }
        m.nodes = {&q, f};
        return true;
    }
    Result<std::string> apply(ir::Graph& g, const Match& m) override {
        ir::Node* q = m.nodes[0];
        ir::Node* f = m.nodes[1];
        QuantParams p;
        const_qdq_params(*q, &p);
        std::vector<ir::Value*> ins(f->inputs().begin(), f->inputs().end());
        const size_t n_quant = is_op(f, "Concat") ? ins.size() : 1;
        for (size_t i = 0; i < n_quant; ++i) {
            ir::Node* nq = clone_qdq(g, *q, ins[i], ins[i]->name() + ".q", ins[i]->shape());
            ins[i] = nq->output(0);
        }
        ir::Node* fi = clone_op(g, *f, ins, p.qtype);
        const std::string desc = "moved " + q->desc() + " before " + f->desc();
        const std::string fname = f->name();
        replace_value(g, q->output(0), fi->output(0));
        remove_if_dead(g, {f, q});
        take_name(fi, fname);
        return desc;
    }
};

// dq-q-identity: Match {q, dq}.
class DqQIdentityRule : public RewriteRule {
  public:
    std::string name() const override { return "dq-q-identity"; }
    bool match(const ir::Graph&, ir::Node& q, Match& m) const override {
        QuantParams pq, pd;
        if (!is_q(&q) || !const_qdq_params(q, &pq)) return false;
        ir::Node* dq = producer_of(q, 0);
        if (!is_dq(dq) || !const_qdq_params(*dq, &pd) || !same_qparams(pq, pd)) return false;
        if (q.num_outputs() != 1 || !dq->input(0)) return false;
        // A Q output that users read keeps its name, which the source cannot take when it is a
        // graph input or output itself.
        if (q.output(0)->is_graph_output() && !can_take_name(dq->input(0))) return false;
        m.nodes = {&q, dq};
        return true;
    }
    Result<std::string> apply(ir::Graph& g, const Match& m) override {
        ir::Node* q = m.nodes[0];
        ir::Node* dq = m.nodes[1];
        const std::string desc = "removed " + dq->desc() + " -> " + q->desc() + " (same parameters)";
        ir::Value* src = dq->input(0);
        // Keep the Q's output name when it is what a user reads; else keep the source's name.
        // The source takes the Q output's name when it can: the tensor is the same (e.g. an int8
        // MaxPool output is exactly the Q of the float MaxPool), and calibration tables and
        // per-layer comparisons know it by that name.
        replace_value(g, q->output(0), src, /*keep_name=*/can_take_name(src));
        remove_if_dead(g, {dq, q});
        return desc;
    }
};

// relu-before-qdq: Match {relu, dq, q}.
class ReluBeforeQdqRule : public RewriteRule {
  public:
    std::string name() const override { return "relu-before-qdq"; }
    bool match(const ir::Graph&, ir::Node& relu, Match& m) const override {
        if (!is_op(&relu, "Relu")) return false;
        ir::Node* dq = producer_of(relu, 0);
        QuantParams pd, pq;
        if (!is_dq(dq) || !per_tensor_params(dq, &pd) || sole_consumer(dq->output(0)) != &relu) return false;
        ir::Node* q = producer_of(*dq, 0);
        if (!is_q(q) || !per_tensor_params(q, &pq) || !same_qparams(pd, pq)) return false;
        if (sole_consumer(q->output(0)) != dq || !q->input(0)) return false;
        m.nodes = {&relu, dq, q};
        return true;
    }
    Result<std::string> apply(ir::Graph& g, const Match& m) override {
        ir::Node* relu = m.nodes[0];
        ir::Node* dq = m.nodes[1];
        ir::Node* q = m.nodes[2];
        ir::Value* x = q->input(0);
        ir::Node* nr = g.add_node("Relu", {x}, {x->name() + ".relu"},
                                  g.unique_node_name(relu->name().empty() ? "Relu" : relu->name()), relu->domain());
        nr->output(0)->set_dtype(DataType::kFloat32);
        nr->output(0)->set_shape(x->shape());
        g.set_input(q, 0, nr->output(0));
        const std::string desc = "moved " + relu->desc() + " before " + q->desc();
        const std::string rname = relu->name();
        replace_value(g, relu->output(0), dq->output(0));
        remove_if_dead(g, {relu});
        take_name(nr, rname);
        return desc;
    }
};

// redundant-clamp: Match {clamp, dq}.
class RedundantClampRule : public RewriteRule {
  public:
    std::string name() const override { return "redundant-clamp"; }
    bool match(const ir::Graph&, ir::Node& n, Match& m) const override {
        const bool relu = is_op(&n, "Relu");
        if (!relu && !is_op(&n, "Clip")) return false;
        ir::Node* dq = producer_of(n, 0);
        QuantParams p;
        if (!is_dq(dq) || !per_tensor_params(dq, &p)) return false;
        if (n.output(0)->is_graph_output() && !can_take_name(dq->output(0))) return false;
        const float lo_q = dq_value(p, qmath::qmin(p.qtype));
        const float hi_q = dq_value(p, qmath::qmax(p.qtype));
        float lo = 0.0f, hi = 0.0f;
        if (relu) {
            if (lo_q < 0.0f) return false;
        } else {
            if (!clip_bounds(n, &lo, &hi)) return false;
            if (lo_q < lo || hi_q > hi) return false;
        }
        m.nodes = {&n, dq};
        return true;
    }
    Result<std::string> apply(ir::Graph& g, const Match& m) override {
        ir::Node* n = m.nodes[0];
        const std::string desc = "removed " + n->desc() + ": the dequantized range already lies inside it";
        replace_value(g, n->output(0), n->input(0), /*keep_name=*/n->output(0)->is_graph_output());
        remove_if_dead(g, {n});
        return desc;
    }

  private:
    static float dq_value(const QuantParams& p, int32_t q) {
        return static_cast<float>(q - p.zero_point[0]) * p.scale[0];
    }
    // Clip bounds from inputs (opset >= 11) or attributes; missing bounds are infinite.
    static bool clip_bounds(const ir::Node& n, float* lo, float* hi) {
        *lo = -std::numeric_limits<float>::infinity();
        *hi = std::numeric_limits<float>::infinity();
        if (n.has_attr("min")) *lo = n.attr_float("min", *lo);
        if (n.has_attr("max")) *hi = n.attr_float("max", *hi);
        for (size_t i = 1; i <= 2; ++i) {
            const ir::Value* v = n.input(i);
            if (!v) continue;
            if (!v->is_constant() || v->constant().numel() != 1 || v->constant().dtype() != DataType::kFloat32)
                return false;
            (i == 1 ? *lo : *hi) = v->constant().data<float>()[0];
        }
        return true;
    }
};

}  // namespace

bool commutes_with_quantization(const std::string& op) {
    static const std::set<std::string> kOps = {"Reshape",   "Flatten", "Transpose", "Squeeze",
                                               "Unsqueeze", "Slice",   "Identity",  "MaxPool"};
    return kOps.count(op) > 0;
}

std::unique_ptr<Pass> make_qdq_propagation_pass() {
    std::vector<std::unique_ptr<RewriteRule>> rules;
    rules.push_back(std::make_unique<DqLaterRule>());
    rules.push_back(std::make_unique<ConcatDqLaterRule>());
    rules.push_back(std::make_unique<QEarlierRule>());
    rules.push_back(std::make_unique<DqQIdentityRule>());
    // A clamp that does nothing goes before one would be moved.
    rules.push_back(std::make_unique<RedundantClampRule>());
    rules.push_back(std::make_unique<ReluBeforeQdqRule>());
    rules.push_back(make_qdq_dedupe_rule());
    return std::make_unique<RuleSetPass>("qdq-propagation", std::move(rules));
}

}  // namespace qat::passes
