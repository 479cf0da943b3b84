#include "passes/constant_folding.h"

#include <algorithm>
#include <limits>
#include <set>

#include "backends/registry.h"
#include "core/logging.h"
#include "ir/fused_ops.h"
#include "passes/qdq_util.h"
#include "runtime/plan.h"

namespace qat::passes {
namespace {

bool is_random_op(const std::string& op) {
    static const std::set<std::string> kRandom = {"RandomNormal",      "RandomNormalLike", "RandomUniform",
                                                  "RandomUniformLike", "Multinomial",      "Bernoulli"};
    return kRandom.count(op) > 0;
}

bool has_subgraph(const ir::Node& n) {
    for (const auto& [name, a] : n.attrs())
        if (a.kind == ir::Attribute::Kind::kOpaque) return true;
    return false;
}

// Shape(x) for a fully static x (opset 15 start/end included).
bool fold_shape(const ir::Node& n, Tensor* out) {
    const ir::Value* x = n.input(0);
    if (!x) return false;
    auto dims = x->shape().static_dims();
    if (!dims) return false;
    const int64_t rank = static_cast<int64_t>(dims->size());
    int64_t start = n.attr_int("start", 0), end = n.attr_int("end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, 0, rank);
    std::vector<int64_t> v;
    for (int64_t i = start; i < end; ++i) v.push_back((*dims)[static_cast<size_t>(i)]);
    *out = Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
    return true;
}

// Output elements of ops that can blow up small inputs, computed from their constant inputs
// before anything is evaluated (-1: not such an op, or not computable).
int64_t generated_elements(const ir::Node& n) {
    auto values = [](const ir::Value* v, std::vector<int64_t>* out) {
        if (!v || !v->is_constant() || !is_integer(v->constant().dtype())) return false;
        out->clear();
        for (int64_t i = 0; i < v->constant().numel(); ++i)
            out->push_back(static_cast<int64_t>(v->constant().get_as_double(i)));
        return true;
    };
    std::vector<int64_t> d;
    auto product = [](const std::vector<int64_t>& v) {
        double p = 1;
        for (int64_t x : v) p *= static_cast<double>(std::max<int64_t>(x, 1));
        return p > 9e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(p);
    };
    if (n.op_type() == "ConstantOfShape" && values(n.input(0), &d)) return product(d);
    if (n.op_type() == "Expand" && values(n.input(1), &d) && n.input(0) && n.input(0)->is_constant()) {
        std::vector<int64_t> a = n.input(0)->constant().dims();
        size_t r = std::max(a.size(), d.size());
        std::vector<int64_t> out(r, 1);
        for (size_t i = 0; i < r; ++i) {
            int64_t x = i + a.size() >= r ? a[i + a.size() - r] : 1;
            int64_t y = i + d.size() >= r ? d[i + d.size() - r] : 1;
            out[i] = std::max(x, y);
        }
        return product(out);
    }
    if (n.op_type() == "Tile" && values(n.input(1), &d) && n.input(0) && n.input(0)->is_constant()) {
        int64_t p = product(d);
        int64_t e = n.input(0)->constant().numel();
        return p > 0 && e > std::numeric_limits<int64_t>::max() / p ? std::numeric_limits<int64_t>::max() : p * e;
    }
    return -1;
}

// Runs one node on the reference backend with its constant inputs.
Result<std::vector<Tensor>> evaluate(const ir::Graph& g, const ir::Node& n) {
    ir::Graph sub;
    sub.info() = g.info();
    std::vector<ir::Value*> ins;
    for (const ir::Value* in : n.inputs()) {
        if (!in) {
            ins.push_back(nullptr);
            continue;
        }
        ir::Value* existing = sub.find_value(in->name());
        ins.push_back(existing ? existing : sub.add_initializer(in->name(), in->constant()));
    }
    std::vector<std::string> out_names;
    for (const ir::Value* o : n.outputs()) out_names.push_back(o->name());
    ir::Node* c = sub.add_node(n.op_type(), ins, out_names, n.name(), n.domain());
    for (const auto& [k, a] : n.attrs()) c->set_attr(k, a);
    for (ir::Value* o : c->outputs()) sub.add_output(o);
    runtime::PlanOptions po;
    po.registry = &backends::default_registry();
    po.backends = {"ref"};
    QAT_ASSIGN_OR_RETURN(auto plan, runtime::Plan::compile(sub, po));
    return plan->run(std::vector<Tensor>{});
}

}  // namespace

Result<bool> ConstantFolding::run(ir::Graph& graph, PassContext& ctx) {
    bool changed = false;
    QAT_ASSIGN_OR_RETURN(std::vector<ir::Node*> order, graph.topo_order());
    for (ir::Node* n : order) {
        const std::string& op = n->op_type();
        if (n->domain() == ir::fused::kDomain || is_random_op(op) || has_subgraph(*n)) continue;
        if (n->num_outputs() == 0) continue;
        bool outputs_used = false;
        for (const ir::Value* o : n->outputs()) outputs_used = outputs_used || o->has_uses() || o->is_graph_output();
        if (!outputs_used) continue;

        std::vector<Tensor> results;
        if (is_op(n, "Shape") && n->input(0) && !n->input(0)->is_constant()) {
            Tensor t;
            if (!fold_shape(*n, &t)) continue;
            results.push_back(t);
        } else {
            if (op == "Constant" || n->num_inputs() == 0) continue;
            bool all_const = true;
            int64_t in_elems = 0;
            for (const ir::Value* in : n->inputs()) {
                if (!in) continue;
                if (!in->is_constant()) {
                    all_const = false;
                    break;
                }
                in_elems += in->constant().numel();
            }
            if (!all_const) continue;
            if (int64_t gen = generated_elements(*n); gen > options_.max_output_elements && gen > in_elems) continue;
            if (is_dq(n) && !options_.fold_dequantize && n->input(0) &&
                is_quantized_type(n->input(0)->constant().dtype()))
                continue;
            auto r = evaluate(graph, *n);
            if (!r.ok()) {
                QAT_VLOG("passes") << name() << ": cannot evaluate " << n->desc() << ": " << r.status().to_string();
                continue;
            }
            results = std::move(r).value();
            bool too_big = false;
            for (const Tensor& t : results)
                if (t.numel() > options_.max_output_elements && t.numel() > in_elems) too_big = true;
            if (too_big) continue;
        }
        if (results.size() != n->num_outputs()) continue;
        bool all_defined = true;
        for (const Tensor& t : results) all_defined = all_defined && t.defined();
        if (!all_defined) continue;

        const std::string desc = n->desc();
        for (size_t i = 0; i < results.size(); ++i) {
            ir::Value* o = n->output(i);
            if (!o->has_uses() && !o->is_graph_output()) continue;
            ir::Value* c = add_constant(graph, o->name() + ".folded", results[i]);
            replace_value(graph, o, c);
        }
        remove_if_dead(graph, {n});
        ctx.note_rewrite(name(), "folded " + desc);
        changed = true;
    }
    return changed;
}

}  // namespace qat::passes
