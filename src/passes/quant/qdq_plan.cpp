#include "passes/quant/qdq_plan.h"

#include <set>

namespace qat::passes::quant {

const char* source_name(Source s) {
    switch (s) {
        case Source::kDefault:
            return "default";
        case Source::kPattern:
            return "pattern";
        case Source::kSpecOpType:
            return "spec (op type)";
        case Source::kSpecName:
            return "spec (name)";
    }
    return "?";
}

InputDecision InputDecision::activation(Source s, std::string why) {
    InputDecision d;
    d.quantize = true;
    d.source = s;
    d.reason = std::move(why);
    return d;
}

InputDecision InputDecision::weight(int axis, Source s, std::string why) {
    InputDecision d;
    d.quantize = true;
    d.granularity = Granularity::kPerChannel;
    d.axis = axis;
    d.source = s;
    d.reason = std::move(why);
    return d;
}

InputDecision InputDecision::weight_per_tensor(Source s, std::string why) { return activation(s, std::move(why)); }

InputDecision InputDecision::keep_float(Source s, std::string why) {
    InputDecision d;
    d.quantize = false;
    d.source = s;
    d.reason = std::move(why);
    return d;
}

bool QdqPlan::decide(const ir::Node& node, int input, InputDecision d) {
    auto& per_node = entries_[&node];
    auto it = per_node.find(input);
    if (it != per_node.end() && static_cast<int>(it->second.source) > static_cast<int>(d.source)) return false;
    per_node[input] = std::move(d);
    return true;
}

const InputDecision* QdqPlan::find(const ir::Node& node, int input) const {
    auto it = entries_.find(&node);
    if (it == entries_.end()) return nullptr;
    auto jt = it->second.find(input);
    return jt == it->second.end() ? nullptr : &jt->second;
}

bool QdqPlan::quantizes(const ir::Node& node, int input) const {
    const InputDecision* d = find(node, input);
    return d && d->quantize;
}

bool QdqPlan::quantizes_any(const ir::Node& node) const {
    auto it = entries_.find(&node);
    if (it == entries_.end()) return false;
    for (const auto& [i, d] : it->second)
        if (d.quantize) return true;
    return false;
}

const std::map<int, InputDecision>* QdqPlan::decisions(const ir::Node& node) const {
    auto it = entries_.find(&node);
    return it == entries_.end() ? nullptr : &it->second;
}

void QdqPlan::forget(const ir::Node& node, int input) {
    auto it = entries_.find(&node);
    if (it != entries_.end()) it->second.erase(input);
}

void QdqPlan::share_scale(std::vector<const ir::Value*> values, std::string reason) {
    // Merge with every existing group that shares a value, so each value is in one group.
    std::set<const ir::Value*> merged(values.begin(), values.end());
    std::string why = std::move(reason);
    std::vector<ScaleGroup> kept;
    for (auto& g : groups_) {
        bool overlap = false;
        for (const ir::Value* v : g.values)
            if (merged.count(v)) overlap = true;
        if (overlap) {
            for (const ir::Value* v : g.values) {
                if (!merged.count(v)) values.push_back(v);
                merged.insert(v);
            }
            why = g.reason + "; " + why;
        } else {
            kept.push_back(std::move(g));
        }
    }
    // Keep first-seen order, without duplicates.
    std::vector<const ir::Value*> ordered;
    std::set<const ir::Value*> seen;
    for (const ir::Value* v : values)
        if (seen.insert(v).second) ordered.push_back(v);
    kept.push_back({std::move(ordered), std::move(why)});
    groups_ = std::move(kept);
}

void QdqPlan::note_float(const ir::Node& node, std::string reason) {
    float_notes_.emplace_back(&node, std::move(reason));
}

std::vector<const ir::Value*> QdqPlan::quantized_values(const std::vector<ir::Node*>& order) const {
    std::vector<const ir::Value*> out;
    std::set<const ir::Value*> seen;
    for (const ir::Node* n : order) {
        auto it = entries_.find(n);
        if (it == entries_.end()) continue;
        for (const auto& [i, d] : it->second) {
            if (!d.quantize) continue;
            const ir::Value* v = n->input(static_cast<size_t>(i));
            if (v && seen.insert(v).second) out.push_back(v);
        }
    }
    return out;
}

}  // namespace qat::passes::quant
