// Import -> export -> re-import over every model of the ONNX node test suite (libonnx-testdata).
//
// The oracle is the original model itself: the imported graph must pass ir::verify, the
// re-imported graph must equal the first import (nodes, attributes, initializers, names, types),
// the exported protobuf must list the same nodes as the original file, and a model that passes ONNX's checker + strict
// shape inference on the way in must pass them on the way out. Models we refuse are listed with their reason, and every
// refusal must be a deliberate one (kUnsupported), never a parse or validation failure.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <map>
#include <set>

#include "core/file_util.h"
#include "ir/verify.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"

using namespace qat;
namespace fs = std::filesystem;
namespace qonnx = qat::onnx;

namespace {

const char kNodeTests[] = "/usr/share/libonnx-testdata/data/node";

std::string out_name(const ir::Value* v) { return qonnx::is_omitted_output(*v) ? std::string() : v->name(); }

// Empty string when equal, otherwise the first difference.
std::string compare_graphs(const ir::Graph& a, const ir::Graph& b) {
    const auto &ia = a.info(), &ib = b.info();
    if (ia.ir_version != ib.ir_version) return "ir_version";
    if (ia.opsets.size() != ib.opsets.size()) return "opset count";
    for (size_t i = 0; i < ia.opsets.size(); ++i)
        if (ia.opsets[i].domain != ib.opsets[i].domain || ia.opsets[i].version != ib.opsets[i].version)
            return "opset " + ia.opsets[i].domain;
    if (ia.producer_name != ib.producer_name || ia.producer_version != ib.producer_version || ia.domain != ib.domain ||
        ia.model_version != ib.model_version || ia.doc_string != ib.doc_string || ia.graph_name != ib.graph_name ||
        ia.graph_doc_string != ib.graph_doc_string || ia.metadata_props != ib.metadata_props)
        return "model fields";
    auto same_values = [](const std::vector<ir::Value*>& x, const std::vector<ir::Value*>& y, const char* what) {
        if (x.size() != y.size()) return std::string(what) + " count";
        for (size_t i = 0; i < x.size(); ++i) {
            if (x[i]->name() != y[i]->name()) return std::string(what) + " name " + x[i]->name();
            if (x[i]->dtype() != y[i]->dtype() || x[i]->shape() != y[i]->shape())
                return std::string(what) + " type of " + x[i]->name() + ": " + dtype_name(x[i]->dtype()) +
                       x[i]->shape().to_string() + " vs " + dtype_name(y[i]->dtype()) + y[i]->shape().to_string();
            if (x[i]->doc_string != y[i]->doc_string) return std::string(what) + " doc of " + x[i]->name();
        }
        return std::string();
    };
    if (auto d = same_values(a.inputs(), b.inputs(), "input"); !d.empty()) return d;
    if (auto d = same_values(a.outputs(), b.outputs(), "output"); !d.empty()) return d;
    auto inits_a = a.initializers(), inits_b = b.initializers();
    if (inits_a.size() != inits_b.size()) return "initializer count";
    for (size_t i = 0; i < inits_a.size(); ++i)
        if (inits_a[i]->name() != inits_b[i]->name() || !inits_a[i]->constant().equals(inits_b[i]->constant()))
            return "initializer " + inits_a[i]->name();
    auto na = a.nodes(), nb = b.nodes();
    if (na.size() != nb.size()) return "node count";
    for (size_t i = 0; i < na.size(); ++i) {
        const ir::Node &x = *na[i], &y = *nb[i];
        std::string where = "node #" + std::to_string(i) + " " + x.desc() + ": ";
        if (x.op_type() != y.op_type() || x.domain() != y.domain() || x.name() != y.name()) return where + "identity";
        if (x.num_inputs() != y.num_inputs() || x.num_outputs() != y.num_outputs()) return where + "arity";
        for (size_t k = 0; k < x.num_inputs(); ++k)
            if ((x.input(k) ? x.input(k)->name() : "") != (y.input(k) ? y.input(k)->name() : ""))
                return where + "input " + std::to_string(k);
        for (size_t k = 0; k < x.num_outputs(); ++k)
            if (out_name(x.output(k)) != out_name(y.output(k))) return where + "output " + std::to_string(k);
        if (x.attrs().size() != y.attrs().size()) return where + "attribute count";
        for (const auto& [name, attr] : x.attrs()) {
            const ir::Attribute* o = y.attr(name);
            if (!o || !(*o == attr)) return where + "attribute " + name;
        }
        if (x.doc_string != y.doc_string) return where + "doc_string";
    }
    std::map<std::string, const ir::Value*> va, vb;
    for (const ir::Value* v : a.values())
        if (!qonnx::is_omitted_output(*v)) va[v->name()] = v;
    for (const ir::Value* v : b.values())
        if (!qonnx::is_omitted_output(*v)) vb[v->name()] = v;
    if (va.size() != vb.size()) return "value count";
    for (const auto& [name, v] : va) {
        auto it = vb.find(name);
        if (it == vb.end()) return "value " + name + " lost";
        if (v->dtype() != it->second->dtype() || v->shape() != it->second->shape()) return "type of value " + name;
        if (v->is_constant() != it->second->is_constant() ||
            (v->is_constant() && !v->constant().equals(it->second->constant())))
            return "payload of value " + name;
    }
    return "";
}

// The exported protobuf against the original file, node by node.
std::string compare_protos(const ::onnx::ModelProto& orig, const ::onnx::ModelProto& exp) {
    const auto &go = orig.graph(), &ge = exp.graph();
    if (go.node_size() != ge.node_size()) return "node count";
    for (int i = 0; i < go.node_size(); ++i) {
        const auto &x = go.node(i), &y = ge.node(i);
        std::string where = "node #" + std::to_string(i) + " (" + x.op_type() + "): ";
        if (x.op_type() != y.op_type() || x.domain() != y.domain() || x.name() != y.name()) return where + "identity";
        if (x.input_size() != y.input_size() || x.output_size() != y.output_size()) return where + "arity";
        for (int k = 0; k < x.input_size(); ++k)
            if (x.input(k) != y.input(k)) return where + "input " + x.input(k);
        for (int k = 0; k < x.output_size(); ++k)
            if (x.output(k) != y.output(k)) return where + "output " + x.output(k);
        std::map<std::string, int> ax, ay;
        for (const auto& a : x.attribute()) ax[a.name()] = a.type();
        for (const auto& a : y.attribute()) ay[a.name()] = a.type();
        if (ax != ay) return where + "attribute names/types";
    }
    auto names = [](const auto& list) {
        std::vector<std::string> out;
        for (const auto& v : list) out.push_back(v.name());
        return out;
    };
    if (names(go.input()) != names(ge.input())) return "graph inputs";
    if (names(go.output()) != names(ge.output())) return "graph outputs";
    if (names(go.initializer()) != names(ge.initializer())) return "initializer names";
    return "";
}

struct Outcome {
    int imported = 0, refused = 0, checked = 0;
    std::vector<std::string> failures;
};

Outcome round_trip_all(const qonnx::ImportOptions& opts, bool print_refusals) {
    Outcome out;
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(kNodeTests))
        if (fs::exists(e.path() / "model.onnx")) dirs.push_back(e.path());
    std::sort(dirs.begin(), dirs.end());
    for (const auto& d : dirs) {
        const std::string name = d.filename().string();
        const std::string path = (d / "model.onnx").string();
        auto g1 = qonnx::load_model(path, opts);
        if (!g1.ok()) {
            ++out.refused;
            const Status& s = g1.status();
            if (s.code() != StatusCode::kUnsupported)
                out.failures.push_back(name + ": unexpected import error: " + s.to_string());
            if (print_refusals) {
                // The message starts with the path; the test name already says which model.
                std::string msg = s.message();
                if (msg.rfind(path + ": ", 0) == 0) msg = msg.substr(path.size() + 2);
                std::printf("  %s: %s\n", name.c_str(), msg.c_str());
            }
            continue;
        }
        ++out.imported;
        // The imported graph keeps the IR's invariants (use-lists, producers, types).
        if (Status v = ir::verify(**g1); !v.ok()) out.failures.push_back(name + ": verify: " + v.to_string());
        auto bytes = qonnx::export_model_bytes(**g1);
        if (!bytes.ok()) {
            out.failures.push_back(name + ": export: " + bytes.status().to_string());
            continue;
        }
        auto g2 = qonnx::import_model_bytes(*bytes, name + " (re-exported)", opts);
        if (!g2.ok()) {
            out.failures.push_back(name + ": re-import: " + g2.status().to_string());
            continue;
        }
        if (std::string diff = compare_graphs(**g1, **g2); !diff.empty())
            out.failures.push_back(name + ": graph differs: " + diff);
        ::onnx::ModelProto orig, exp;
        auto orig_bytes = read_file(path);
        if (!orig_bytes.ok() || !orig.ParseFromString(*orig_bytes) || !exp.ParseFromString(*bytes)) {
            out.failures.push_back(name + ": cannot parse protos for comparison");
            continue;
        }
        if (std::string diff = compare_protos(orig, exp); !diff.empty())
            out.failures.push_back(name + ": exported proto differs: " + diff);
        if (qonnx::check_model_bytes(*orig_bytes, name).ok()) {
            ++out.checked;
            Status s = qonnx::check_model_bytes(*bytes, name + " (re-exported)");
            if (!s.ok())
                out.failures.push_back(name + ": passes the checker, its re-export does not: " + s.to_string());
        }
    }
    return out;
}

}  // namespace

TEST(OnnxRoundTrip, NodeTestSuite) {
    if (!fs::is_directory(kNodeTests))
        GTEST_SKIP() << "libonnx-testdata is not installed (" << kNodeTests << " missing)";
    std::printf("models refused on import (all must be deliberate refusals):\n");
    Outcome o = round_trip_all({}, true);
    std::printf(
        "node tests: %d imported and round-tripped, %d refused, %d also passed the checker both ways, %zu failures\n",
        o.imported, o.refused, o.checked, o.failures.size());
    for (const auto& f : o.failures) ADD_FAILURE() << f;
    // Most of the suite is within opset 9..17 and tensor types: a drop means a regression.
    EXPECT_GT(o.imported, 700);
}

// The models refused only for their old opset (< 9) still round-trip losslessly when allowed.
TEST(OnnxRoundTrip, OldOpsetModelsWhenAllowed) {
    if (!fs::is_directory(kNodeTests))
        GTEST_SKIP() << "libonnx-testdata is not installed (" << kNodeTests << " missing)";
    qonnx::ImportOptions opts;
    opts.allow_old_opsets = true;
    Outcome o = round_trip_all(opts, false);
    std::printf("with old opsets allowed: %d imported, %d refused, %zu failures\n", o.imported, o.refused,
                o.failures.size());
    for (const auto& f : o.failures) ADD_FAILURE() << f;
    EXPECT_GT(o.imported, 760);
}
