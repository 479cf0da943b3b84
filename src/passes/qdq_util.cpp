#include "passes/qdq_util.h"

#include <algorithm>

namespace qat::passes {

bool const_qdq_params(const ir::Node& n, QuantParams* out) {
    const ir::Value* s = n.input(1);
    const ir::Value* z = n.input(2);
    if (!s || !s->is_constant() || s->constant().dtype() != DataType::kFloat32) return false;
    if (s->constant().rank() > 1) return false;
    QuantParams p;
    p.scale = s->constant().to_vector<float>();
    if (p.scale.empty()) return false;
    if (z) {
        if (!z->is_constant()) return false;
        const Tensor& zt = z->constant();
        if (zt.numel() != static_cast<int64_t>(p.scale.size())) return false;
        if (zt.dtype() != DataType::kInt8 && zt.dtype() != DataType::kUint8) return false;
        p.qtype = zt.dtype();
        for (int64_t i = 0; i < zt.numel(); ++i) p.zero_point.push_back(static_cast<int32_t>(zt.get_as_double(i)));
    } else {
        p.qtype = DataType::kUint8;
        p.zero_point.assign(p.scale.size(), 0);
    }
    int64_t axis = n.attr_int("axis", 1);
    const ir::Value* x = n.input(0);
    if (axis < 0 && x && x->shape().rank_known()) axis += static_cast<int64_t>(x->shape().rank());
    p.axis = static_cast<int>(axis);
    // A 1-D scale of one element is per-tensor in effect; keep it so (axis irrelevant).
    *out = std::move(p);
    return true;
}

bool same_qparams(const QuantParams& a, const QuantParams& b) {
    if (a.qtype != b.qtype || a.scale != b.scale || a.zero_point != b.zero_point) return false;
    return a.per_tensor() || a.axis == b.axis;
}

ir::Node* sole_consumer(const ir::Value* v) {
    if (!v || v->is_graph_output() || v->uses().size() != 1) return nullptr;
    return v->uses()[0].node;
}

ir::Node* producer_of(const ir::Node& n, size_t i) {
    const ir::Value* v = n.input(i);
    return v ? v->producer() : nullptr;
}

void replace_value(ir::Graph& g, ir::Value* from, ir::Value* to, bool keep_name) {
    if (from == to) return;
    // A graph input or output keeps its own name (users feed and read it).
    if ((keep_name || from->is_graph_output()) && !to->is_graph_input() && !to->is_graph_output()) {
        const std::string name = from->name();
        g.rename_value(from, g.unique_value_name(name + ".replaced"));
        g.rename_value(to, name);
    }
    g.replace_all_uses_with(from, to);
}

void remove_if_dead(ir::Graph& g, const std::vector<ir::Node*>& nodes) {
    // Reverse order: consumers go first, which frees their producers' outputs.
    std::vector<ir::Node*> pending(nodes.rbegin(), nodes.rend());
    bool progress = true;
    while (progress) {
        progress = false;
        for (auto it = pending.begin(); it != pending.end();) {
            ir::Node* n = *it;
            bool dead = true;
            for (const ir::Value* o : n->outputs())
                if (o->has_uses() || o->is_graph_output()) dead = false;
            if (dead) {
                std::vector<ir::Value*> ins(n->inputs().begin(), n->inputs().end());
                g.remove_node(n);
                it = pending.erase(it);
                progress = true;
                // Constants only this node read go too.
                for (ir::Value* in : ins)
                    if (in && in->is_initializer() && !in->has_uses() && !in->is_graph_input() &&
                        !in->is_graph_output()) {
                        g.remove_value(in);
                        std::replace(ins.begin(), ins.end(), in, static_cast<ir::Value*>(nullptr));
                    }
            } else {
                ++it;
            }
        }
    }
}

ir::Value* add_constant(ir::Graph& g, const std::string& base, Tensor t) {
    return g.add_initializer(g.unique_value_name(base), std::move(t));
}

namespace {
constexpr const char* kFoldedTag = "qat-folded: ";
}

std::vector<std::string> folded_names(const ir::Node& n) {
    std::vector<std::string> out;
    const std::string& d = n.doc_string;
    size_t p = d.find(kFoldedTag);
    if (p == std::string::npos) return out;
    p += std::string(kFoldedTag).size();
    const size_t e = d.find('\n', p);
    const std::string list = d.substr(p, e == std::string::npos ? std::string::npos : e - p);
    size_t at = 0;
    while (at <= list.size()) {
        size_t c = list.find(", ", at);
        std::string item = list.substr(at, c == std::string::npos ? std::string::npos : c - at);
        if (!item.empty()) out.push_back(item);
        if (c == std::string::npos) break;
        at = c + 2;
    }
    return out;
}

void add_folded_name(ir::Node& n, const std::string& name) {
    std::vector<std::string> names = folded_names(n);
    names.push_back(name);
    std::string& d = n.doc_string;
    size_t p = d.find(kFoldedTag);
    if (p != std::string::npos) {
        size_t e = d.find('\n', p);
        d.erase(p, e == std::string::npos ? std::string::npos : e - p + 1);
        while (!d.empty() && d.back() == '\n') d.pop_back();
    }
    std::string line = kFoldedTag;
    for (size_t i = 0; i < names.size(); ++i) line += (i ? ", " : "") + names[i];
    d += (d.empty() ? "" : "\n") + line;
}

std::string node_label(const ir::Node& n) { return n.desc(); }

}  // namespace qat::passes
