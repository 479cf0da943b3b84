#include "quant/quant_spec.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/file_util.h"
#include "passes/quant/pattern_util.h"
#include "quant/name_match.h"

namespace qat::quant {

namespace pq = passes::quant;
using nlohmann::json;

const char* quant_mode_name(QuantMode m) { return m == QuantMode::kFull ? "full" : "partial"; }

Result<QuantMode> parse_quant_mode(const std::string& s) {
    if (s == "full") return QuantMode::kFull;
    if (s == "partial") return QuantMode::kPartial;
    return invalid_argument("unknown quantization mode '", s, "' (expected full or partial)");
}

namespace {

const char* json_type(const json& j) { return j.type_name(); }

Result<bool> get_bool(const json& e, const char* key, bool fallback, const std::string& where) {
    if (!e.contains(key)) return fallback;
    if (!e[key].is_boolean())
        return invalid_argument(where, ": \"", key, "\" must be true or false, got ", json_type(e[key]));
    return e[key].get<bool>();
}

}  // namespace

Result<QuantSpec> parse_quant_spec(const std::string& text, const std::string& what) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        // e.what() carries nlohmann's "[json.exception.parse_error.101] parse error at line L, column C: ..."
        std::string m = e.what();
        auto p = m.find("parse error");
        return invalid_argument(what, ": not valid JSON: ", p == std::string::npos ? m : m.substr(p));
    }
    if (!j.is_object()) return invalid_argument(what, ": expected a JSON object with \"entries\", got ", json_type(j));
    static const std::set<std::string> kTop = {"mode", "entries"};
    for (const auto& [k, v] : j.items())
        if (!kTop.count(k)) return invalid_argument(what, ": unknown key \"", k, "\" (known: mode, entries)");
    QuantSpec spec;
    if (j.contains("mode")) {
        if (!j["mode"].is_string()) return invalid_argument(what, ": \"mode\" must be \"full\" or \"partial\"");
        auto m = parse_quant_mode(j["mode"].get<std::string>());
        if (!m.ok()) return std::move(m).take_status().with_context("in " + what);
        spec.mode = *m;
    }
    if (!j.contains("entries"))
        return invalid_argument(what, ": missing \"entries\" (a list of {\"name\"|\"op_type\": ...})");
    const json& es = j["entries"];
    if (!es.is_array()) return invalid_argument(what, ": \"entries\" must be a list, got ", json_type(es));
    static const std::set<std::string> kEntry = {"name", "op_type", "quantize_input", "quantize_weight",
                                                 "input_indices"};
    for (size_t i = 0; i < es.size(); ++i) {
        const json& e = es[i];
        std::string where = what + " entry #" + std::to_string(i + 1);
        if (!e.is_object()) return invalid_argument(where, ": expected an object, got ", json_type(e));
        for (const auto& [k, v] : e.items())
            if (!kEntry.count(k))
                return invalid_argument(where, ": unknown key \"", k,
                                        "\" (known: name, op_type, quantize_input, quantize_weight, input_indices)");
        SpecEntry se;
        se.origin = where;
        bool has_name = e.contains("name"), has_op = e.contains("op_type");
        if (has_name == has_op) return invalid_argument(where, ": needs exactly one of \"name\" or \"op_type\"");
        const json& id = has_name ? e["name"] : e["op_type"];
        if (!id.is_string() || id.get<std::string>().empty())
            return invalid_argument(where, ": \"", has_name ? "name" : "op_type", "\" must be a non-empty string");
        (has_name ? se.name : se.op_type) = id.get<std::string>();
        QAT_ASSIGN_OR_RETURN(se.quantize_input, get_bool(e, "quantize_input", true, where));
        QAT_ASSIGN_OR_RETURN(se.quantize_weight, get_bool(e, "quantize_weight", true, where));
        if (e.contains("input_indices")) {
            const json& ii = e["input_indices"];
            if (!ii.is_array()) return invalid_argument(where, ": \"input_indices\" must be a list of input indices");
            std::vector<int> idx;
            for (const json& x : ii) {
                if (!x.is_number_integer() || x.get<int64_t>() < 0 || x.get<int64_t>() > 1000000)
                    return invalid_argument(where, ": \"input_indices\" entries must be non-negative integers, got ",
                                            x.dump());
                idx.push_back(static_cast<int>(x.get<int64_t>()));
            }
            se.input_indices = std::move(idx);
        }
        spec.entries.push_back(std::move(se));
    }
    return spec;
}

Result<QuantSpec> load_quant_spec(const std::string& path) {
    QAT_ASSIGN_OR_RETURN(std::string text, read_file(path));
    return parse_quant_spec(text, path);
}

SpecEntry filter_entry(const std::string& pattern, bool quantize) {
    SpecEntry e;
    e.origin = std::string(quantize ? "--include " : "--exclude ") + pattern;
    e.quantize_input = quantize;
    e.quantize_weight = quantize;
    if (pattern.rfind("op:", 0) == 0) {
        e.op_type = pattern.substr(3);
    } else {
        e.name = pattern;
        e.name_or_op_type = true;
    }
    return e;
}

namespace {

// The nodes an entry names.
std::vector<const ir::Node*> matched_nodes(const ir::Graph& g, const SpecEntry& e, bool* by_op_type) {
    std::vector<const ir::Node*> out;
    *by_op_type = !e.op_type.empty();
    if (*by_op_type) {
        for (const ir::Node* n : g.nodes())
            if (n->op_type() == e.op_type) out.push_back(n);
        return out;
    }
    for (const ir::Node* n : g.nodes())
        if (glob_match(e.name, n->name())) out.push_back(n);
    if (out.empty() && e.name_or_op_type) {
        for (const ir::Node* n : g.nodes())
            if (n->op_type() == e.name) out.push_back(n);
        *by_op_type = !out.empty();
    }
    return out;
}

Status no_match_error(const ir::Graph& g, const SpecEntry& e) {
    if (!e.op_type.empty()) {
        std::set<std::string> ops;
        for (const ir::Node* n : g.nodes()) ops.insert(n->op_type());
        std::vector<std::string> all(ops.begin(), ops.end());
        return not_found(e.origin, ": no node of op type '", e.op_type,
                         "' in the model (closest: ", join(closest_names(e.op_type, all, 3)),
                         "; op types present: ", join(all), ")");
    }
    std::vector<std::string> names;
    for (const ir::Node* n : g.nodes()) names.push_back(n->name());
    return not_found(e.origin, ": no node ", is_glob(e.name) ? "matches '" : "named '", e.name,
                     "' (closest node names: ", join(closest_names(e.name, names, 5)), ")");
}

}  // namespace

Status apply_spec(const ir::Graph& g, const QuantSpec& spec, const PolicyTable& table, pq::QdqPlan& plan) {
    for (const SpecEntry& e : spec.entries) {
        bool by_op = false;
        std::vector<const ir::Node*> nodes = matched_nodes(g, e, &by_op);
        if (nodes.empty()) return no_match_error(g, e);
        if (e.input_indices) {
            // Out of range for every matched node: the entry cannot mean anything.
            for (int idx : *e.input_indices) {
                bool fits_one = false;
                for (const ir::Node* n : nodes)
                    if (idx < static_cast<int>(n->num_inputs())) fits_one = true;
                bool exact = !by_op && !is_glob(e.name);
                if (!fits_one || (exact && idx >= static_cast<int>(nodes[0]->num_inputs())))
                    return out_of_range(e.origin, ": input index ", idx, " is out of range for ", nodes[0]->desc(),
                                        " (", nodes[0]->num_inputs(), " inputs)");
            }
        }
        pq::Source src = by_op ? pq::Source::kSpecOpType : pq::Source::kSpecName;
        for (const ir::Node* n : nodes) {
            const OpPolicy* policy = find_policy(table, n->op_type());
            for (size_t i = 0; i < n->num_inputs(); ++i) {
                const ir::Value* v = n->input(i);
                if (!v) continue;
                int idx = static_cast<int>(i);
                std::string why = "spec: " + e.origin;
                bool listed = !e.input_indices || std::find(e.input_indices->begin(), e.input_indices->end(), idx) !=
                                                      e.input_indices->end();
                // For table ops only the table's slots are eligible (biases never are); other
                // ops: every float input.
                const InputPolicy* ip = policy ? find_input_policy(*policy, idx) : nullptr;
                if (policy && !ip) continue;
                bool weight = v->is_constant();
                if (!weight && !pq::is_quantizable_tensor(v)) continue;
                if (weight && v->constant().dtype() != DataType::kFloat32) continue;
                bool want = listed && (weight ? e.quantize_weight : e.quantize_input);
                if (!want) {
                    plan.decide(*n, idx, pq::InputDecision::keep_float(src, why));
                } else if (ip) {
                    plan.decide(*n, idx, table_decision(*ip, *n, idx, src, why));
                } else {
                    plan.decide(*n, idx,
                                weight ? pq::InputDecision::weight_per_tensor(src, why + " (per-tensor)")
                                       : pq::InputDecision::activation(src, why));
                }
            }
        }
    }
    return OkStatus();
}

}  // namespace qat::quant
