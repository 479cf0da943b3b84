#include "quant/quantize.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "backends/registry.h"
#include "passes/pipelines.h"
#include "passes/quant/presets.h"
#include "passes/quant/strip_qdq.h"
#include "quant/calibrated.h"
#include "quant/name_match.h"

namespace qat::quant {

namespace pq = passes::quant;

namespace {

Status check_no_qdq(const ir::Graph& g) {
    auto qn = pq::find_quantization_nodes(g);
    if (qn.empty()) return OkStatus();
    return failed_precondition("the model already holds ", qn.size(),
                               " quantization node(s) (first: ", qn.front()->desc(),
                               "); pass --requantize to strip them and place Q/DQ again");
}

}  // namespace

Result<QuantizeSummary> quantize_graph(ir::Graph& graph, QuantizeOptions& options) {
    QuantizeSummary summary;
    summary.mode = options.mode ? *options.mode : options.spec.mode.value_or(QuantMode::kFull);
    summary.preset = options.preset ? *options.preset : (summary.mode == QuantMode::kFull ? "auto" : "none");

    int64_t opset = graph.info().opset("");
    if (opset == 0) {
        graph.info().set_opset("", 13);
    } else if (opset < 13) {
        return unsupported("the model is opset ", opset, "; Q/DQ placement needs opset >= 13 (per-channel axis): ",
                           "upgrade it first (`qat quantize` does this automatically)");
    }
    if (!options.requantize) QAT_RETURN_IF_ERROR(check_no_qdq(graph));
    summary.stripped_qdq_nodes = options.requantize ? static_cast<int>(pq::find_quantization_nodes(graph).size()) : 0;

    // Cases: the preset's, then --case ones, then the user's own.
    PlacementOptions po;
    po.mode = summary.mode;
    po.policy = options.policy;
    po.spec = options.spec;
    QAT_ASSIGN_OR_RETURN(po.cases, pq::make_preset(summary.preset));
    for (const auto& name : options.cases) {
        QAT_ASSIGN_OR_RETURN(auto c, pq::make_case(name));
        po.cases.push_back(std::move(c));
    }
    for (auto& c : options.extra_cases) po.cases.push_back(std::move(c));
    options.extra_cases.clear();
    for (const auto& c : po.cases) summary.cases.push_back(c->name());
    const PolicyTable& table = options.policy ? *options.policy : default_policy_table();

    std::vector<FloatNode> floats;
    pq::QdqPlanner planner = [&](const ir::Graph& g, pq::QdqPlacementState& st) -> Status {
        QAT_RETURN_IF_ERROR(plan_placement(g, po, st.plan, &st.log));
        QAT_ASSIGN_OR_RETURN(std::vector<std::string> needed, pq::planned_activation_tensors(g, st.plan));
        st.insert.weights = options.weights;
        if (options.calib_table) {
            std::vector<std::string> missing = missing_tensors(*options.calib_table, needed);
            if (!missing.empty()) {
                std::vector<std::string> shown(missing.begin(), missing.begin() + std::min<size_t>(missing.size(), 20));
                return not_found(options.calib_table_name, " lacks ", missing.size(), " of the ", needed.size(),
                                 " tensor(s) the placement quantizes: ", join(shown),
                                 missing.size() > shown.size() ? ", ..." : "",
                                 " (calibrate this model with the same placement options)");
            }
            st.insert.activation_amax = options.calib_table->amax_map();
            summary.ranges = "calibration table";
            summary.calibrated = true;
        } else if (options.activation_ranges) {
            QAT_ASSIGN_OR_RETURN(st.insert.activation_amax, options.activation_ranges(g, needed));
            summary.ranges = "calibration data";
            summary.calibrated = true;
        } else {
            st.insert.placeholder_scale = kPlaceholderScale;
            summary.ranges = "placeholder (uncalibrated)";
        }
        const auto& reg = backends::default_registry();
        floats = float_nodes(g, st.plan, table, [&](const ir::Node& n) {
            return n.op_type() == "Constant" || reg.has_op(n.op_type(), runtime::normalize_domain(n.domain()));
        });
        return OkStatus();
    };

    pq::QdqPlacementState state;
    passes::QdqPlacementPipelineOptions popts;
    popts.strip_existing = options.requantize;
    popts.fold_bn = options.fold_bn;
    passes::PassManager pm = passes::make_qdq_placement_pipeline(popts, planner, &state);
    passes::PassContext ctx;
    ctx.verify_each = options.verify;
    QAT_ASSIGN_OR_RETURN(bool changed, pm.run(graph, ctx));
    (void)changed;

    summary.case_matches = state.log;
    summary.activation_qdq = state.stats.activation_pairs;
    summary.weight_qdq = state.stats.weight_pairs;
    summary.placeholder_tensors = state.stats.placeholder_tensors;
    summary.float_nodes = std::move(floats);
    summary.pass_ms = ctx.timings_ms;
    if (summary.calibrated || summary.activation_qdq == 0) {
        mark_calibrated(graph);
        summary.calibrated = true;
    } else {
        mark_uncalibrated(graph);
    }
    return summary;
}

std::string format_quantize_summary(const QuantizeSummary& s) {
    std::ostringstream os;
    os << "mode " << quant_mode_name(s.mode) << ", preset " << s.preset;
    if (!s.cases.empty()) os << " (cases: " << join(s.cases) << ")";
    os << "\n";
    if (s.stripped_qdq_nodes) os << "stripped " << s.stripped_qdq_nodes << " existing quantization node(s)\n";
    os << "Q/DQ placed: " << s.activation_qdq << " activation pair(s), " << s.weight_qdq << " weight(s)\n";
    os << "activation ranges: " << s.ranges << "\n";
    if (!s.calibrated)
        os << "note: the model is marked uncalibrated (" << s.placeholder_tensors.size()
           << " placeholder scale(s)); calibrate or fine-tune it before `qat build` / `qat eval`\n";
    for (const auto& m : s.case_matches) os << "  case " << m << "\n";
    if (!s.float_nodes.empty()) {
        os << "stays float (" << s.float_nodes.size() << "):\n";
        for (const auto& f : s.float_nodes) os << "  " << f.node << " (" << f.op_type << "): " << f.reason << "\n";
    }
    return os.str();
}

std::string quantize_summary_json(const QuantizeSummary& s) {
    nlohmann::json j;
    j["mode"] = quant_mode_name(s.mode);
    j["preset"] = s.preset;
    j["cases"] = s.cases;
    j["case_matches"] = s.case_matches;
    j["stripped_qdq_nodes"] = s.stripped_qdq_nodes;
    j["activation_qdq"] = s.activation_qdq;
    j["weight_qdq"] = s.weight_qdq;
    j["ranges"] = s.ranges;
    j["calibrated"] = s.calibrated;
    j["placeholder_tensors"] = s.placeholder_tensors;
    nlohmann::json fl = nlohmann::json::array();
    for (const auto& f : s.float_nodes) fl.push_back({{"node", f.node}, {"op_type", f.op_type}, {"reason", f.reason}});
    j["float_nodes"] = fl;
    return j.dump(2);
}

Result<QuantizeOptions> make_quantize_options(const PlacementChoices& o, const PlacementLabels& l) {
    auto known = [](const std::vector<std::string>& names, const std::string& n) {
        return std::find(names.begin(), names.end(), n) != names.end();
    };
    QuantizeOptions q;
    if (!o.mode.empty()) {
        auto m = parse_quant_mode(o.mode);
        if (!m.ok()) return invalid_argument(l.mode, ": ", m.status().message());
        q.mode = *m;
    }
    if (!o.preset.empty()) {
        auto names = passes::quant::preset_names();
        if (!known(names, o.preset))
            return invalid_argument(l.preset, ": unknown preset '", o.preset, "' (known: ", join(names), ")");
        q.preset = o.preset;
    }
    for (const auto& c : o.cases) {
        auto names = passes::quant::case_names();
        if (!known(names, c)) return invalid_argument(l.cases, ": unknown case '", c, "' (known: ", join(names), ")");
        q.cases.push_back(c);
    }
    if (o.weights == "int8") {
        q.weights = passes::quant::WeightFormat::kInt8;
    } else if (o.weights == "float") {
        q.weights = passes::quant::WeightFormat::kFloat;
    } else {
        return invalid_argument(l.weights, ": expected int8 or float, got '", o.weights, "'");
    }
    if (!o.spec_file.empty()) {
        QAT_ASSIGN_OR_RETURN(q.spec, load_quant_spec(o.spec_file));
    }
    // Filters come after the spec file's entries: among entries of one kind the later wins.
    for (const auto& p : o.include) {
        if (p.empty() || p == "op:") return invalid_argument(l.include, ": empty pattern");
        q.spec.entries.push_back(filter_entry(p, true));
    }
    for (const auto& p : o.exclude) {
        if (p.empty() || p == "op:") return invalid_argument(l.exclude, ": empty pattern");
        q.spec.entries.push_back(filter_entry(p, false));
    }
    if (q.mode == QuantMode::kPartial || (!q.mode && q.spec.mode == QuantMode::kPartial)) {
        bool names_something = false;
        for (const auto& e : q.spec.entries)
            if (e.quantize_input || e.quantize_weight) names_something = true;
        if (!names_something && !q.preset && q.cases.empty())
            return invalid_argument("partial mode quantizes only what ", l.named_by, " name, and nothing is named");
    }
    q.fold_bn = o.fold_bn;
    q.requantize = o.requantize;
    return q;
}

}  // namespace qat::quant
