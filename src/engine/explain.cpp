#include "engine/explain.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ir/fused_ops.h"
#include "passes/qdq_fusion.h"
#include "passes/qdq_util.h"

namespace qat::engine {
namespace {

namespace fused = ir::fused;

int64_t prod(const std::vector<int64_t>& d, size_t from = 0) {
    int64_t p = 1;
    for (size_t i = from; i < d.size(); ++i) p *= d[i];
    return p;
}

struct ValueFacts {
    std::vector<int64_t> dims;
    DataType dtype = DataType::kUndefined;
};

// Runs the engine once on zeros (symbolic dims = 1) and records every value's dims and dtype.
Status record_shapes(Engine& e, std::map<std::string, ValueFacts>* facts) {
    std::vector<Tensor> inputs;
    for (const ir::Value* v : e.input_values()) {
        if (!v) return internal_error("engine input without a graph value");
        if (v->is_constant()) {
            inputs.emplace_back();  // its default
            continue;
        }
        if (!v->shape().rank_known()) return invalid_argument("input '", v->name(), "' has an unknown rank");
        std::vector<int64_t> dims;
        for (const Dim& d : v->shape().dims()) dims.push_back(d.is_static() ? d.value : 1);
        DataType t = v->dtype() == DataType::kUndefined ? DataType::kFloat32 : v->dtype();
        inputs.push_back(Tensor::zeros(t, dims));
        (*facts)[v->name()] = {dims, t};
    }
    auto hook = [&](const ir::Node& n, const std::vector<Tensor>& outs) -> Status {
        for (size_t i = 0; i < outs.size() && i < n.num_outputs(); ++i)
            if (outs[i].defined() && n.output(i)) (*facts)[n.output(i)->name()] = {outs[i].dims(), outs[i].dtype()};
        return OkStatus();
    };
    auto r = e.run(inputs, hook);
    if (!r.ok()) return std::move(r).take_status();
    return OkStatus();
}

std::string precision_of(const ir::Node& n, const std::map<std::string, ValueFacts>& facts, bool* int8) {
    *int8 = false;
    if (fused::is_fused_op(n)) {
        *int8 = true;
        const DataType out = fused::out_dtype_to_data_type(n.attr_int("out_dtype", fused::kOnnxFloat));
        return out == DataType::kFloat32 ? "INT8 -> FP32" : "INT8 -> INT8";
    }
    if (passes::is_q(&n)) return "FP32 -> INT8";
    if (passes::is_dq(&n)) return "INT8 -> FP32";
    DataType t = DataType::kUndefined;
    if (n.num_outputs() > 0 && n.output(0)) {
        auto it = facts.find(n.output(0)->name());
        t = it != facts.end() ? it->second.dtype : n.output(0)->dtype();
    }
    if (is_quantized_type(t)) {
        *int8 = true;
        return "INT8";
    }
    if (t == DataType::kFloat32 || t == DataType::kUndefined) return "FP32";
    std::string s = dtype_name(t);
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

std::string human_count(int64_t v) {
    char buf[32];
    if (v >= 1000000000)
        std::snprintf(buf, sizeof(buf), "%.2fG", v / 1e9);
    else if (v >= 1000000)
        std::snprintf(buf, sizeof(buf), "%.2fM", v / 1e6);
    else if (v >= 1000)
        std::snprintf(buf, sizeof(buf), "%.1fk", v / 1e3);
    else
        std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(v));
    return buf;
}

}  // namespace

int64_t node_macs(const ir::Node& n, const std::vector<std::vector<int64_t>>& in, const std::vector<int64_t>& out) {
    const std::string& op = n.op_type();
    const bool q = fused::is_fused_op(n);
    const bool std_op = n.domain().empty() || n.domain() == "ai.onnx";
    if (in.size() < 2 || in[0].empty() || in[1].empty()) return -1;
    const auto& x = in[0];
    const auto& w = in[1];
    if ((std_op && op == "Conv") || (q && op == fused::kQConv) || fused::is_fp32_fused_op(n)) {
        if (out.size() < 3 || w.size() < 3) return -1;
        return prod(out) * prod(w, 1);  // each output: C/group * k... products
    }
    if ((std_op && op == "ConvTranspose") || (q && op == fused::kQConvTranspose)) {
        if (x.size() < 3 || w.size() < 3) return -1;
        return prod(x) * prod(w, 1);  // each input pixel scatters into M/group * k... outputs
    }
    if ((std_op && op == "Gemm") || (q && op == fused::kQGemm) || (std_op && op == "MatMul")) {
        if (out.empty()) return -1;
        int64_t k = 0;
        if (std_op && op == "Gemm")
            k = n.attr_int("transA", 0) ? x.front() : x.back();
        else
            k = x.back();
        return prod(out) * k;
    }
    return -1;
}

Result<ExplainReport> explain(Engine& e) {
    ExplainReport rep;
    std::map<std::string, ValueFacts> facts;
    Status s = record_shapes(e, &facts);
    rep.macs_known = s.ok();
    if (!s.ok()) rep.mac_note = "MACs unknown: a trial run on zero inputs failed: " + s.to_string();
    for (const ir::Value* v : e.input_values()) {
        auto it = facts.find(v->name());
        if (it != facts.end() && !it->second.dims.empty()) {
            rep.mac_batch = it->second.dims[0];
            break;
        }
    }
    auto dims_of = [&](const ir::Value* v) -> std::vector<int64_t> {
        if (!v) return {};
        if (v->is_constant()) return v->constant().dims();
        auto it = facts.find(v->name());
        if (it != facts.end()) return it->second.dims;
        auto sd = v->shape().static_dims();
        return sd ? *sd : std::vector<int64_t>{};
    };
    for (const runtime::StepInfo& st : e.steps()) {
        const ir::Node& n = *st.node;
        ExplainRow row;
        row.node = n.name().empty() ? n.op_type() : n.name();
        row.op = n.op_type();
        row.fused = fused::is_fused_op(n);
        row.backend = st.backend;
        row.threads = st.threads;
        row.precision = precision_of(n, facts, &row.int8_compute);
        if (row.fused) {
            ++rep.fused_ops;
            if (const ir::Attribute* a = n.attr("absorbed"); a && a->kind == ir::Attribute::Kind::kStrings)
                row.absorbed = a->strings;
            const std::string note = n.attr_string("note", "");
            if (!note.empty()) row.reasons.push_back(note);
        } else {
            if (const ir::Attribute* a = n.attr("absorbed");
                fused::is_fp32_fused_op(n) && a && a->kind == ir::Attribute::Kind::kStrings)
                row.absorbed = a->strings;  // FusedConv: the Conv, its activations, BN, residual Add
            else
                row.absorbed = passes::folded_names(n);  // e.g. a BN folded into an FP32 Conv
            const std::string why = passes::fp32_reason(n);
            if (!why.empty()) row.reasons.push_back("not INT8: " + why);
        }
        for (const auto& r : st.refusals) row.reasons.push_back(r.backend + " declined: " + r.reason);
        if (rep.macs_known) {
            std::vector<std::vector<int64_t>> ins;
            for (const ir::Value* v : n.inputs()) ins.push_back(dims_of(v));
            row.macs = node_macs(n, ins, n.num_outputs() ? dims_of(n.output(0)) : std::vector<int64_t>{});
            if (row.macs >= 0) {
                rep.total_macs += row.macs;
                if (row.fused) rep.int8_macs += row.macs;
            }
        }
        if (!row.fused && (row.op == "Conv" || row.op == "ConvTranspose" || row.op == "Gemm" || row.op == "MatMul" ||
                           fused::is_fp32_fused_op(n)))
            ++rep.fp32_mac_ops;
        rep.rows.push_back(std::move(row));
    }
    return rep;
}

std::string format_explain_table(const ExplainReport& r) {
    std::vector<std::vector<std::string>> cells;
    cells.push_back({"#", "node", "op", "precision", "backend", "MACs", "details"});
    for (size_t i = 0; i < r.rows.size(); ++i) {
        const ExplainRow& row = r.rows[i];
        std::string details;
        if (!row.absorbed.empty()) {
            details = "absorbed:";
            for (size_t k = 0; k < row.absorbed.size(); ++k) details += (k ? ", " : " ") + row.absorbed[k];
        }
        for (const auto& why : row.reasons) details += (details.empty() ? "" : "; ") + why;
        if (row.threads == 1) details += std::string(details.empty() ? "" : "; ") + "on one thread";
        cells.push_back({std::to_string(i + 1), row.node, row.op, row.precision, row.backend,
                         row.macs >= 0 ? human_count(row.macs) : "", details});
    }
    std::vector<size_t> width(cells[0].size(), 0);
    for (const auto& c : cells)
        for (size_t k = 0; k + 1 < c.size(); ++k) width[k] = std::max(width[k], c[k].size());
    std::ostringstream os;
    for (const auto& c : cells) {
        std::string line;
        for (size_t k = 0; k < c.size(); ++k) {
            line += c[k];
            if (k + 1 < c.size()) line += std::string(width[k] - c[k].size() + 2, ' ');
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        os << line << "\n";
    }
    os << "\n";
    os << r.fused_ops << " fused INT8 op" << (r.fused_ops == 1 ? "" : "s") << ", " << r.fp32_mac_ops
       << " Conv/Gemm/MatMul op" << (r.fp32_mac_ops == 1 ? "" : "s") << " left in FP32\n";
    if (r.macs_known) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "%.1f%%", 100.0 * r.int8_mac_share());
        os << "INT8 coverage: " << buf << " of " << human_count(r.total_macs) << " MACs (batch " << r.mac_batch
           << ") in INT8 ops\n";
    } else {
        os << r.mac_note << "\n";
    }
    return os.str();
}

std::string explain_to_json(const ExplainReport& r, int indent) {
    nlohmann::json nodes = nlohmann::json::array();
    for (const ExplainRow& row : r.rows) {
        nlohmann::json j = {{"node", row.node},           {"op", row.op},
                            {"fused", row.fused},         {"int8", row.int8_compute},
                            {"precision", row.precision}, {"backend", row.backend},
                            {"absorbed", row.absorbed},   {"reasons", row.reasons}};
        if (row.macs >= 0) j["macs"] = row.macs;
        if (row.threads > 0) j["threads"] = row.threads;
        nodes.push_back(std::move(j));
    }
    nlohmann::json out = {{"nodes", nodes}, {"fused_ops", r.fused_ops}, {"fp32_mac_ops", r.fp32_mac_ops}};
    if (r.macs_known) {
        out["total_macs"] = r.total_macs;
        out["int8_macs"] = r.int8_macs;
        out["int8_mac_share"] = r.int8_mac_share();
        out["mac_batch"] = r.mac_batch;
    } else {
        out["total_macs"] = nullptr;
        out["int8_macs"] = nullptr;
        out["int8_mac_share"] = nullptr;
        out["mac_note"] = r.mac_note;
    }
    return out.dump(indent);
}

}  // namespace qat::engine
