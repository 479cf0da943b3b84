// qat inspect model.onnx [--json]: what is in a model. One row per node (name, op, input and
// output shapes, parameters, MACs of the compute-heavy ops) and totals (params, MACs, opset, IR
// version, graph inputs and outputs). Shapes come from ONNX shape inference (onnx::infer_shapes).
//
// Structure, so that more sections (e.g. a later --quant placement report) plug in without
// touching the rest: build_report() computes a plain ModelReport from the graph, print_report()
// and report_json() render it, and the command callback only loads, builds and prints.
#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "onnx/onnx_import.h"
#include "onnx/shape_inference.h"
#include "quant/placement_report.h"

namespace qat::cli {
namespace {

struct ValueEntry {
    std::string name;
    DataType dtype = DataType::kUndefined;
    Shape shape;
    bool constant = false;
};

struct NodeRow {
    std::string name;
    std::string op;
    std::string domain;
    std::vector<ValueEntry> inputs;  // omitted optional inputs are left out
    std::vector<ValueEntry> outputs;
    int64_t params = 0;           // elements of constant inputs
    std::optional<int64_t> macs;  // Conv/ConvTranspose/Gemm/MatMul (and their integer forms)
};

struct ModelReport {
    std::string path;
    ir::ModelInfo info;
    std::vector<ValueEntry> inputs, outputs;
    std::vector<NodeRow> nodes;
    int64_t total_params = 0;
    int64_t total_param_bytes = 0;
    int64_t total_macs = 0;
    bool macs_assume_dims_1 = false;    // symbolic/unknown dims were counted as 1
    std::string shape_inference_error;  // empty when inference ran
};

ValueEntry entry(const ir::Value& v) { return {v.name(), v.dtype(), v.shape(), v.is_constant()}; }

// Element count with symbolic/unknown dims taken as 1 (flagged), nullopt when the rank is unknown.
std::optional<int64_t> numel_dims1(const Shape& s, bool* assumed) {
    if (!s.rank_known()) return std::nullopt;
    int64_t n = 1;
    for (const Dim& d : s.dims()) {
        if (d.is_static()) {
            n *= d.value;
        } else {
            *assumed = true;
        }
    }
    return n;
}

// Product of dims [from, rank) of a static-rank shape; nullopt when any of them is not static.
std::optional<int64_t> static_product(const Shape& s, size_t from) {
    if (!s.rank_known() || s.rank() < from) return std::nullopt;
    int64_t n = 1;
    for (size_t i = from; i < s.rank(); ++i) {
        if (!s[i].is_static()) return std::nullopt;
        n *= s[i].value;
    }
    return n;
}

// Multiply-accumulates of one node: output elements times the reduction length.
std::optional<int64_t> node_macs(const ir::Node& n, bool* assumed) {
    const std::string& op = n.op_type();
    auto shape_of = [&](size_t i) -> const Shape* { return n.input(i) ? &n.input(i)->shape() : nullptr; };
    const Shape* y = n.output(0) ? &n.output(0)->shape() : nullptr;
    if (!y) return std::nullopt;
    // Conv family: weight [M, C/group, k...]; each output element reduces C/group * prod(k).
    int w_index = -1;
    if (op == "Conv" || op == "ConvInteger") w_index = 1;
    if (op == "QLinearConv") w_index = 3;
    if (w_index >= 0) {
        const Shape* w = shape_of(w_index);
        if (!w) return std::nullopt;
        auto per_output = static_product(*w, 1);
        auto outs = numel_dims1(*y, assumed);
        if (!per_output || !outs) return std::nullopt;
        return *outs * *per_output;
    }
    if (op == "ConvTranspose") {
        // weight [C, M/group, k...]: each input element feeds M/group * prod(k) outputs.
        const Shape* x = shape_of(0);
        const Shape* w = shape_of(1);
        if (!x || !w) return std::nullopt;
        auto per_input = static_product(*w, 1);
        auto ins = numel_dims1(*x, assumed);
        if (!per_input || !ins) return std::nullopt;
        return *ins * *per_input;
    }
    if (op == "Gemm" || op == "MatMul" || op == "MatMulInteger" || op == "QLinearMatMul") {
        const Shape* a = shape_of(0);
        if (!a || !a->rank_known() || a->rank() == 0) return std::nullopt;
        Dim k = a->dims().back();
        if (op == "Gemm" && n.attr_int("transA", 0) != 0) k = (*a)[0];
        if (!k.is_static()) return std::nullopt;
        auto outs = numel_dims1(*y, assumed);
        if (!outs) return std::nullopt;
        return *outs * k.value;
    }
    return std::nullopt;
}

ModelReport build_report(ir::Graph& g, const std::string& path) {
    ModelReport r;
    r.path = path;
    Status s = onnx::infer_shapes(g);
    if (!s.ok()) r.shape_inference_error = s.to_string();
    r.info = g.info();
    for (const ir::Value* v : g.inputs()) r.inputs.push_back(entry(*v));
    for (const ir::Value* v : g.outputs()) r.outputs.push_back(entry(*v));
    auto order = g.topo_order();  // import already rejected cycles
    for (const ir::Node* n : order.ok() ? *order : g.nodes()) {
        NodeRow row;
        row.name = n->name();
        row.op = n->op_type();
        row.domain = n->domain();
        for (const ir::Value* in : n->inputs()) {
            if (!in) continue;
            row.inputs.push_back(entry(*in));
            if (in->is_constant()) row.params += in->constant().numel();
        }
        for (const ir::Value* out : n->outputs())
            if (!onnx::is_omitted_output(*out)) row.outputs.push_back(entry(*out));
        row.macs = node_macs(*n, &r.macs_assume_dims_1);
        if (row.macs) r.total_macs += *row.macs;
        r.nodes.push_back(std::move(row));
    }
    // Each weight once, even when several nodes read it.
    for (const ir::Value* v : g.values()) {
        if (!v->is_constant()) continue;
        r.total_params += v->constant().numel();
        r.total_param_bytes += static_cast<int64_t>(v->constant().nbytes());
    }
    return r;
}

// ---- rendering ----

std::string with_commas(int64_t v) {
    std::string digits = std::to_string(v < 0 ? -v : v);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return v < 0 ? "-" + out : out;
}

std::string type_str(const ValueEntry& v) {
    return std::string(v.dtype == DataType::kUndefined ? "?" : dtype_name(v.dtype)) + v.shape.to_string();
}

std::string shapes_str(const std::vector<ValueEntry>& vs) {
    std::string s;
    for (const auto& v : vs) s += (s.empty() ? "" : " ") + v.shape.to_string();
    return s.empty() ? "-" : s;
}

std::string opsets_str(const ir::ModelInfo& info) {
    std::string s;
    for (const auto& o : info.opsets)
        s += (s.empty() ? "" : ", ") + (o.domain.empty() ? std::string("ai.onnx") : o.domain) + " " +
             std::to_string(o.version);
    return s;
}

void print_report(const ModelReport& r, std::FILE* out) {
    std::fprintf(out, "model: %s\n", r.path.c_str());
    std::fprintf(out, "IR version %" PRId64 ", opsets: %s", r.info.ir_version, opsets_str(r.info).c_str());
    if (!r.info.producer_name.empty())
        std::fprintf(out, ", producer: %s%s%s", r.info.producer_name.c_str(),
                     r.info.producer_version.empty() ? "" : " ", r.info.producer_version.c_str());
    std::fprintf(out, "\n");
    auto list = [&](const char* title, const std::vector<ValueEntry>& vs) {
        std::fprintf(out, "%s:\n", title);
        for (const auto& v : vs)
            std::fprintf(out, "  %-24s %s%s\n", v.name.c_str(), type_str(v).c_str(),
                         v.constant ? "  (has a default)" : "");
    };
    list("inputs", r.inputs);
    list("outputs", r.outputs);

    std::vector<std::vector<std::string>> cells;
    cells.push_back({"#", "name", "op", "input shapes", "output shapes", "params", "MACs"});
    for (size_t i = 0; i < r.nodes.size(); ++i) {
        const NodeRow& n = r.nodes[i];
        std::string op = n.domain.empty() || n.domain == "ai.onnx" ? n.op : n.domain + "." + n.op;
        cells.push_back({std::to_string(i), n.name.empty() ? "-" : n.name, op, shapes_str(n.inputs),
                         shapes_str(n.outputs), n.params ? with_commas(n.params) : "-",
                         n.macs ? with_commas(*n.macs) : "-"});
    }
    std::vector<size_t> width(cells[0].size(), 0);
    for (const auto& row : cells)
        for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
    std::fprintf(out, "\n");
    for (const auto& row : cells) {
        std::string line;
        for (size_t c = 0; c < row.size(); ++c) {
            bool right = c == 0 || c >= 5;  // numbers right-aligned
            std::string pad(width[c] - row[c].size(), ' ');
            line += right ? pad + row[c] : row[c] + (c + 1 < row.size() ? pad : "");
            if (c + 1 < row.size()) line += "  ";
        }
        std::fprintf(out, "%s\n", line.c_str());
    }
    std::fprintf(out, "\ntotals: %zu nodes, %s params (%s bytes), %s MACs%s\n", r.nodes.size(),
                 with_commas(r.total_params).c_str(), with_commas(r.total_param_bytes).c_str(),
                 with_commas(r.total_macs).c_str(), r.macs_assume_dims_1 ? " (symbolic dims counted as 1)" : "");
}

nlohmann::json shape_json(const Shape& s) {
    if (!s.rank_known()) return nullptr;
    nlohmann::json dims = nlohmann::json::array();
    for (const Dim& d : s.dims()) {
        if (d.is_static()) {
            dims.push_back(d.value);
        } else if (!d.symbol.empty()) {
            dims.push_back(d.symbol);
        } else {
            dims.push_back(nullptr);
        }
    }
    return dims;
}

nlohmann::json value_json(const ValueEntry& v) {
    return {{"name", v.name},
            {"dtype", v.dtype == DataType::kUndefined ? nlohmann::json(nullptr) : nlohmann::json(dtype_name(v.dtype))},
            {"shape", shape_json(v.shape)},
            {"constant", v.constant}};
}

nlohmann::json report_json(const ModelReport& r) {
    nlohmann::json j;
    j["model"] = r.path;
    j["ir_version"] = r.info.ir_version;
    j["opsets"] = nlohmann::json::array();
    for (const auto& o : r.info.opsets) j["opsets"].push_back({{"domain", o.domain}, {"version", o.version}});
    j["producer"] = {{"name", r.info.producer_name}, {"version", r.info.producer_version}};
    auto values = [](const std::vector<ValueEntry>& vs) {
        nlohmann::json a = nlohmann::json::array();
        for (const auto& v : vs) a.push_back(value_json(v));
        return a;
    };
    j["inputs"] = values(r.inputs);
    j["outputs"] = values(r.outputs);
    j["nodes"] = nlohmann::json::array();
    for (const auto& n : r.nodes) {
        j["nodes"].push_back({{"name", n.name},
                              {"op", n.op},
                              {"domain", n.domain},
                              {"inputs", values(n.inputs)},
                              {"outputs", values(n.outputs)},
                              {"params", n.params},
                              {"macs", n.macs ? nlohmann::json(*n.macs) : nlohmann::json(nullptr)}});
    }
    j["totals"] = {{"nodes", r.nodes.size()},
                   {"params", r.total_params},
                   {"param_bytes", r.total_param_bytes},
                   {"macs", r.total_macs},
                   {"macs_symbolic_dims_as_1", r.macs_assume_dims_1}};
    j["shape_inference_error"] =
        r.shape_inference_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.shape_inference_error);
    return j;
}

struct InspectOptions {
    std::string model;
    bool json = false;
    bool quant = false;  // the Q/DQ placement report (quant/placement_report.h) instead of the node table
};

Status run_inspect(const InspectOptions& o) {
    QAT_ASSIGN_OR_RETURN(std::unique_ptr<ir::Graph> g, onnx::load_model(o.model));
    if (o.quant) {
        quant::PlacementReport pr = quant::analyze_placement(*g);
        std::printf("%s", o.json ? (quant::placement_report_json(pr) + "\n").c_str()
                                 : quant::format_placement_report(pr).c_str());
        return OkStatus();
    }
    ModelReport r = build_report(*g, o.model);
    if (!r.shape_inference_error.empty())
        std::fprintf(stderr, "qat inspect: warning: %s; shapes are shown as declared in the model\n",
                     r.shape_inference_error.c_str());
    if (o.json) {
        // Names come from the model file: invalid UTF-8 is replaced, not thrown on.
        std::printf("%s\n", report_json(r).dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
        print_report(r, stdout);
    }
    return OkStatus();
}

}  // namespace

void add_inspect_command(CLI::App& app) {
    auto opts = std::make_shared<InspectOptions>();
    auto* sub = app.add_subcommand("inspect", "Show a model's nodes, shapes, parameters and MACs");
    sub->add_option("model", opts->model, "ONNX model file")->required();
    sub->add_flag("--json", opts->json, "Print one JSON object instead of the table");
    sub->add_flag("--quant", opts->quant,
                  "Q/DQ placement report: per layer input/weight/output precision, fusable residual Adds, warnings");
    sub->callback([opts] { run_command("inspect", [opts] { return run_inspect(*opts); }); });
}

}  // namespace qat::cli
