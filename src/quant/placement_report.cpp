#include "quant/placement_report.h"

#include <cmath>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "passes/quant/pattern_util.h"
#include "quant/calibrated.h"

namespace qat::quant {

namespace pq = passes::quant;

namespace {

const ir::Node* dq_of(const ir::Value* v) {
    return v && v->producer() && v->producer()->op_type() == "DequantizeLinear" ? v->producer() : nullptr;
}

// A weight in any of its forms: constant, DQ(constant), DQ(Q(constant)).
bool is_weight_form(const ir::Value* v) {
    if (!v) return false;
    if (v->is_constant()) return true;
    const ir::Node* dq = dq_of(v);
    if (!dq || !dq->input(0)) return false;
    const ir::Value* x = dq->input(0);
    if (x->is_constant()) return true;
    const ir::Node* q = x->producer();
    return q && q->op_type() == "QuantizeLinear" && q->input(0) && q->input(0)->is_constant();
}

// The float tensor behind a DQ(Q(u)) input; nullptr when `v` is not of that form.
const ir::Value* float_behind(const ir::Value* v) {
    const ir::Node* dq = dq_of(v);
    if (!dq || !dq->input(0) || !dq->input(0)->producer()) return nullptr;
    const ir::Node* q = dq->input(0)->producer();
    return q->op_type() == "QuantizeLinear" ? q->input(0) : nullptr;
}

std::string name_of(const ir::Node* n) { return n->name().empty() ? n->op_type() : n->name(); }

// Ops with an INT8 form in TensorRT / our engine (an INT8 tensor feeding them is not wasted).
bool takes_int8(const std::string& op) {
    static const std::set<std::string> kOps = {
        "QuantizeLinear", "AveragePool", "GlobalAveragePool", "MaxPool", "Add", "Mul", "Concat", "BatchNormalization",
        "Relu",           "Clip"};
    return pq::is_weighted_op(op) || pq::commutes_with_quantization(op) || kOps.count(op) > 0;
}

std::optional<float> scalar_scale(const ir::Node* dq) {
    const ir::Value* s = dq->input(1);
    if (!s || !s->is_constant() || s->constant().numel() != 1) return std::nullopt;
    return static_cast<float>(s->constant().get_as_double(0));
}

// Follows the ops an INT8 kernel absorbs after a weighted layer: BN, one activation (incl.
// Swish), Dropout/Identity, and a residual Add whose other input is INT8.
const ir::Value* follow_fusable(const ir::Value* v, LayerPlacement& lp) {
    bool add_seen = false;
    for (int steps = 0; steps < 10; ++steps) {
        if (v->is_graph_output()) return v;
        std::vector<const ir::Node*> cs = pq::consumers(*v);
        if (cs.size() == 1) {
            const ir::Node* c = cs[0];
            const std::string& op = c->op_type();
            if ((op == "BatchNormalization" || (pq::is_fusable_activation(op) && op != "Tanh") || op == "Dropout" ||
                 op == "Identity") &&
                c->input(0) == v) {
                lp.fused.push_back(c->desc());
                v = c->output(0);
                continue;
            }
            if (op == "Add" && !add_seen && c->num_inputs() == 2) {
                const ir::Value* other = c->input(0) == v ? c->input(1) : c->input(0);
                if (other != v && dq_of(other)) {
                    lp.fused.push_back(c->desc() + " (residual)");
                    add_seen = true;
                    v = c->output(0);
                    continue;
                }
            }
        } else if (cs.size() == 2) {
            const ir::Node* sig = nullptr;
            const ir::Node* mul = nullptr;
            for (const ir::Node* c : cs) {
                if (c->op_type() == "Sigmoid") sig = c;
                if (c->op_type() == "Mul") mul = c;
            }
            if (sig && mul && pq::is_swish_mul(*mul) && sig->output(0)->uses().size() == 1) {
                lp.fused.push_back(mul->desc() + " (swish)");
                v = mul->output(0);
                continue;
            }
        }
        return v;
    }
    return v;
}

// A Q reading `v`, directly or behind a short single-reader chain of ops that commute with
// quantization (the engine / TensorRT move the Q up to the layer). `via` gets the chain.
const ir::Node* reaches_q(const ir::Value* v, std::string* via, int hops = 4) {
    for (const ir::Node* c : pq::consumers(*v))
        if (c->op_type() == "QuantizeLinear") return c;
    if (hops == 0 || v->is_graph_output()) return nullptr;
    std::vector<const ir::Node*> cs = pq::consumers(*v);
    if (cs.size() != 1) return nullptr;
    const ir::Node* c = cs[0];
    if (!pq::commutes_with_quantization(c->op_type()) || c->op_type() == "Concat" || !c->output(0)) return nullptr;
    const ir::Node* q = reaches_q(c->output(0), via, hops - 1);
    if (q) *via = c->desc() + (via->empty() ? "" : ", " + *via);
    return q;
}

void analyze_layer(const ir::Node* n, PlacementReport& r) {
    LayerPlacement lp;
    lp.node = name_of(n);
    lp.op_type = n->op_type();
    lp.input_quantized = true;
    size_t data_inputs = n->op_type() == "MatMul" ? 2 : std::min<size_t>(2, n->num_inputs());
    for (size_t i = 0; i < data_inputs; ++i) {
        const ir::Value* v = n->input(i);
        if (!v) continue;
        bool weight = is_weight_form(v) && (n->op_type() == "MatMul" || i == 1 || n->op_type() == "Gemm");
        if (weight && !lp.has_weight) {
            lp.has_weight = true;
            const ir::Node* dq = dq_of(v);
            lp.weight_quantized = dq != nullptr;
            if (dq && dq->input(1) && dq->input(1)->shape().rank_known() && dq->input(1)->shape().rank() == 1) {
                auto n1 = dq->input(1)->shape().numel();
                lp.weight_per_channel = n1 && *n1 > 1;
                if (lp.weight_per_channel) lp.weight_axis = static_cast<int>(dq->attr_int("axis", 1));
            }
            continue;
        }
        if (!dq_of(v)) {
            lp.input_quantized = false;
            lp.float_inputs.push_back(v->name());
        }
    }
    const ir::Value* end = follow_fusable(n->output(0), lp);
    std::string via;
    if (const ir::Node* q = reaches_q(end, &via)) {
        lp.int8_output = true;
        lp.output = "INT8: " + q->desc() + (via.empty() ? "" : " (moved up through " + via + ")");
        // A Q whose DQ feeds only ops without an INT8 form wastes the INT8 output.
        std::vector<std::string> float_readers;
        bool any_int8 = false;
        for (const ir::Node* dq : pq::consumers(*q->output(0))) {
            if (dq->op_type() != "DequantizeLinear") continue;
            for (const ir::Node* c : pq::consumers(*dq->output(0))) {
                if (takes_int8(c->op_type()))
                    any_int8 = true;
                else
                    float_readers.push_back(c->desc());
            }
        }
        if (!any_int8 && !float_readers.empty() && via.empty())
            r.warnings.push_back("Q/DQ on the output of " + n->desc() + " feeds " + float_readers.front() +
                                 ", which has no INT8 form: the INT8 output is dequantized at once (drop that Q/DQ)");
    } else {
        std::vector<const ir::Node*> cs = pq::consumers(*end);
        if (end->is_graph_output())
            lp.output = "float: graph output";
        else if (cs.empty())
            lp.output = "float: unused";
        else
            lp.output = "float: feeds " + cs.front()->desc() + " without Q/DQ";
    }
    if (!lp.input_quantized) {
        std::string ins;
        for (const auto& s : lp.float_inputs) ins += (ins.empty() ? "'" : ", '") + s + "'";
        r.warnings.push_back(n->desc() + " has a float input " + ins + ": it runs in FP32" +
                             (lp.weight_quantized ? " although its weight is quantized" : ""));
    }
    r.layers.push_back(std::move(lp));
}

void analyze_add(const ir::Node* n, PlacementReport& r) {
    if (n->num_inputs() != 2) return;
    const ir::Value* in[2] = {n->input(0), n->input(1)};
    if (!in[0] || !in[1] || in[0]->is_constant() || in[1]->is_constant()) return;
    bool q[2];
    pq::ConvBranch b[2];
    for (int i = 0; i < 2; ++i) {
        q[i] = dq_of(in[i]) != nullptr;
        const ir::Value* f = q[i] ? float_behind(in[i]) : in[i];
        if (f) b[i] = pq::conv_branch(*f);
    }
    if (!b[0].head && !b[1].head) return;
    ResidualAdd ra;
    ra.node = name_of(n);
    for (int i = 0; i < 2; ++i) {
        if (!q[i] && b[i].head && q[1 - i]) {
            ra.fusable = true;
            ra.conv = name_of(b[i].head);
            ra.detail = "fuses into " + b[i].head->desc() + "; skip input " + std::to_string(1 - i) + " is INT8";
        }
    }
    if (!ra.fusable) {
        const pq::ConvBranch& any = b[0].head ? b[0] : b[1];
        ra.conv = name_of(any.head);
        if (q[0] && q[1]) {
            ra.detail = "Q/DQ on both inputs";
            r.warnings.push_back("Q/DQ on both inputs of residual " + n->desc() + ": " + any.head->desc() +
                                 " cannot absorb the Add (leave its branch unquantized; preset residual_add does)");
        } else if (!q[0] && !q[1]) {
            ra.detail = "both inputs float: a fused Conv+Add would run in FP32";
        } else {
            ra.detail = "the Conv branch is quantized and the other input is float";
        }
    }
    r.residual_adds.push_back(std::move(ra));
}

void analyze_concat(const ir::Node* n, PlacementReport& r) {
    std::vector<float> scales;
    std::vector<std::string> floats;
    for (const ir::Value* v : n->inputs()) {
        if (!v || v->is_constant()) continue;
        const ir::Node* dq = dq_of(v);
        if (!dq) {
            floats.push_back(v->name());
            continue;
        }
        if (auto s = scalar_scale(dq)) scales.push_back(*s);
    }
    if (!scales.empty() && !floats.empty())
        r.warnings.push_back(n->desc() + " mixes INT8 and float inputs (float: '" + floats.front() +
                             "'): it runs in FP32");
    for (float s : scales)
        if (std::fabs(s - scales.front()) > 1e-6f * std::fabs(scales.front())) {
            std::ostringstream os;
            os << n->desc() << " inputs carry different scales (";
            for (size_t i = 0; i < scales.size(); ++i) os << (i ? ", " : "") << scales[i];
            os << "): each branch is requantized; give them one scale (case concat_shared_scale)";
            r.warnings.push_back(os.str());
            break;
        }
}

}  // namespace

PlacementReport analyze_placement(const ir::Graph& g) {
    PlacementReport r;
    auto order = g.topo_order();
    std::vector<ir::Node*> nodes = order.ok() ? *order : g.nodes();
    for (const ir::Node* n : nodes) {
        if (n->op_type() == "QuantizeLinear") ++r.quantize_nodes;
        if (n->op_type() == "DequantizeLinear") ++r.dequantize_nodes;
    }
    r.uncalibrated = is_uncalibrated(g);
    if (r.quantize_nodes == 0 && r.dequantize_nodes == 0) {
        r.warnings.push_back("the model has no Q/DQ nodes: everything runs in FP32 (run `qat quantize`)");
        return r;
    }
    for (const ir::Node* n : nodes) {
        const std::string& op = n->op_type();
        if (pq::is_weighted_op(op) && n->domain().empty())
            analyze_layer(n, r);
        else if (op == "Add")
            analyze_add(n, r);
        else if (op == "Concat")
            analyze_concat(n, r);
        else if (op == "QuantizeLinear") {
            const ir::Value* y = n->output(0);
            std::vector<const ir::Node*> cs = pq::consumers(*y);
            bool all_dq = !cs.empty();
            for (const ir::Node* c : cs)
                if (c->op_type() != "DequantizeLinear") all_dq = false;
            if (!all_dq || y->is_graph_output())
                r.warnings.push_back("dangling " + n->desc() + ": its output '" + y->name() + "' " +
                                     (cs.empty() ? (y->is_graph_output() ? "is a graph output" : "is unused")
                                                 : "is read without a DequantizeLinear (" + cs.front()->desc() + ")"));
        }
    }
    if (r.uncalibrated) r.warnings.push_back("the model is marked uncalibrated: activation scales are placeholders");
    return r;
}

std::string format_placement_report(const PlacementReport& r) {
    std::ostringstream os;
    os << "Q/DQ placement: " << r.quantize_nodes << " QuantizeLinear, " << r.dequantize_nodes << " DequantizeLinear"
       << (r.uncalibrated ? " (uncalibrated)" : "") << "\n";
    if (!r.layers.empty()) {
        size_t w = 5;
        for (const auto& l : r.layers) w = std::max(w, l.node.size());
        os << std::left << std::setw(static_cast<int>(w) + 2) << "layer" << std::setw(15) << "op" << std::setw(7)
           << "input" << std::setw(16) << "weight"
           << "output\n";
        for (const auto& l : r.layers) {
            std::string wt =
                !l.has_weight ? "-"
                : !l.weight_quantized
                    ? "float"
                    : (l.weight_per_channel ? "int8 axis " + std::to_string(l.weight_axis) : "int8 tensor");
            os << std::left << std::setw(static_cast<int>(w) + 2) << l.node << std::setw(15) << l.op_type
               << std::setw(7) << (l.input_quantized ? "int8" : "float") << std::setw(16) << wt << l.output << "\n";
        }
    }
    if (!r.residual_adds.empty()) {
        os << "residual Adds:\n";
        for (const auto& a : r.residual_adds)
            os << "  " << a.node << ": " << (a.fusable ? "fusable" : "not fusable") << " (" << a.detail << ")\n";
    }
    if (!r.warnings.empty()) {
        os << "warnings (" << r.warnings.size() << "):\n";
        for (const auto& w : r.warnings) os << "  - " << w << "\n";
    }
    return os.str();
}

std::string placement_report_json(const PlacementReport& r, int indent) {
    nlohmann::json j;
    j["quantize_nodes"] = r.quantize_nodes;
    j["dequantize_nodes"] = r.dequantize_nodes;
    j["uncalibrated"] = r.uncalibrated;
    nlohmann::json layers = nlohmann::json::array();
    for (const auto& l : r.layers) {
        nlohmann::json x;
        x["node"] = l.node;
        x["op_type"] = l.op_type;
        x["input_quantized"] = l.input_quantized;
        x["float_inputs"] = l.float_inputs;
        x["has_weight"] = l.has_weight;
        x["weight_quantized"] = l.weight_quantized;
        x["weight_per_channel"] = l.weight_per_channel;
        x["weight_axis"] = l.weight_axis;
        x["int8_output"] = l.int8_output;
        x["output"] = l.output;
        x["fused"] = l.fused;
        layers.push_back(x);
    }
    j["layers"] = layers;
    nlohmann::json adds = nlohmann::json::array();
    for (const auto& a : r.residual_adds)
        adds.push_back({{"node", a.node}, {"fusable", a.fusable}, {"conv", a.conv}, {"detail", a.detail}});
    j["residual_adds"] = adds;
    j["warnings"] = r.warnings;
    return j.dump(indent);
}

}  // namespace qat::quant
