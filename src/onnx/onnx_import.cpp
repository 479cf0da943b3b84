#include "onnx/onnx_import.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "core/file_util.h"
#include "core/logging.h"
#include "onnx/opset.h"
#include "onnx/proto_internal.h"

namespace qat::onnx {

bool is_omitted_output(const ir::Value& v) { return v.name().rfind(internal::kOmittedOutputPrefix, 0) == 0; }

namespace {

// A short guess at what a file that is not an ONNX model is, for the error message.
std::string sniff(const std::string& bytes) {
    auto starts = [&](const char* magic, size_t n) {
        return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0;
    };
    if (starts("\x89PNG", 4)) return " (it looks like a PNG image)";
    if (starts("\xFF\xD8\xFF", 3)) return " (it looks like a JPEG image)";
    if (starts("PK\x03\x04", 4)) return " (it looks like a zip archive, e.g. a PyTorch checkpoint)";
    if (starts("\x93NUMPY", 6)) return " (it looks like a NumPy .npy file)";
    size_t n = std::min<size_t>(bytes.size(), 256), printable = 0;
    for (size_t i = 0; i < n; ++i) {
        unsigned char c = static_cast<unsigned char>(bytes[i]);
        if (c == '\n' || c == '\r' || c == '\t' || (c >= 0x20 && c < 0x7f)) ++printable;
    }
    if (n > 0 && printable == n) return " (it looks like a text file)";
    return "";
}

std::string node_label(const ::onnx::NodeProto& n, int index) {
    if (!n.name().empty()) return "'" + n.name() + "' (" + n.op_type() + ")";
    return "#" + std::to_string(index) + " (" + n.op_type() + ", unnamed)";
}

class Importer {
  public:
    Importer(const ::onnx::ModelProto& m, const std::string& what, const ImportOptions& opts)
        : m_(m), what_(what), opts_(opts), g_(std::make_unique<ir::Graph>()) {}

    Result<std::unique_ptr<ir::Graph>> run() {
        QAT_RETURN_IF_ERROR(read_model_info());
        const auto& gp = m_.graph();
        if (gp.sparse_initializer_size() > 0)
            return unsupported("sparse initializers ('", gp.sparse_initializer(0).values().name(),
                               "') are not supported; store them dense");
        if (m_.functions_size() > 0)
            return unsupported("model-local functions ('", m_.functions(0).name(),
                               "') are not supported; inline them before import");
        if (gp.quantization_annotation_size() > 0) {
            QAT_LOG(kWarning) << what_ << ": ignoring " << gp.quantization_annotation_size()
                              << " quantization_annotation entries";
        }
        QAT_RETURN_IF_ERROR(read_initializers());
        QAT_RETURN_IF_ERROR(read_inputs());
        QAT_RETURN_IF_ERROR(create_node_outputs());
        QAT_RETURN_IF_ERROR(read_nodes());
        QAT_RETURN_IF_ERROR(read_outputs());
        read_value_info();
        auto order = g_->topo_order();
        if (!order.ok()) return std::move(order).take_status();
        return std::move(g_);
    }

  private:
    Status read_model_info() {
        ir::ModelInfo& info = g_->info();
        info.ir_version = m_.ir_version();
        info.opsets.clear();
        std::unordered_set<std::string> domains;
        for (const auto& o : m_.opset_import()) {
            std::string d = o.domain() == "ai.onnx" ? "" : o.domain();
            if (!domains.insert(d).second) return invalid_model("opset_import lists domain '", o.domain(), "' twice");
            info.opsets.push_back({o.domain(), o.version()});
        }
        if (info.opsets.empty()) {
            // IR < 3 models predate opset_import and mean opset 1.
            if (info.ir_version >= 3)
                return invalid_model("model declares no opset_import (required since IR version 3)");
            info.opsets.push_back({"", 1});
        }
        info.producer_name = m_.producer_name();
        info.producer_version = m_.producer_version();
        info.domain = m_.domain();
        info.model_version = m_.model_version();
        info.doc_string = m_.doc_string();
        info.graph_name = m_.graph().name();
        info.graph_doc_string = m_.graph().doc_string();
        info.metadata_props.clear();
        for (const auto& kv : m_.metadata_props()) info.metadata_props.emplace_back(kv.key(), kv.value());
        // The "which and why" message comes from check_versions; `what_` is prefixed by the caller.
        return check_versions(info, "the model", !opts_.allow_old_opsets);
    }

    Status read_initializers() {
        for (const auto& t : m_.graph().initializer()) {
            if (t.name().empty()) return invalid_model("an initializer has no name");
            if (g_->find_value(t.name())) return invalid_model("initializer '", t.name(), "' is defined twice");
            QAT_ASSIGN_OR_RETURN(Tensor payload, internal::tensor_from_proto(t, "initializer '" + t.name() + "'"));
            ir::Value* v = g_->add_initializer(t.name(), std::move(payload));
            v->doc_string = t.doc_string();
        }
        return OkStatus();
    }

    Status read_inputs() {
        for (const auto& vi : m_.graph().input()) {
            if (vi.name().empty()) return invalid_model("a graph input has no name");
            const std::string what = "graph input '" + vi.name() + "'";
            DataType dtype;
            Shape shape;
            QAT_RETURN_IF_ERROR(internal::type_from_proto(vi.type(), what, &dtype, &shape));
            ir::Value* v = g_->find_value(vi.name());
            if (v && v->is_graph_input()) return invalid_model(what, " is listed twice");
            if (v) {
                // IR < 4 style: the input has a default value, its initializer.
                if (dtype != DataType::kUndefined && dtype != v->dtype())
                    return invalid_model(what, " declares dtype ", dtype_name(dtype), " but its initializer holds ",
                                         dtype_name(v->dtype()));
                g_->mark_input(v);
            } else {
                v = g_->add_input(vi.name(), dtype, std::move(shape));
            }
            v->doc_string = vi.doc_string();
        }
        return OkStatus();
    }

    // Every named node output becomes a Value before any node is built, so node inputs can refer
    // to outputs of later nodes (ONNX wants sorted nodes; we sort, and report real cycles).
    Status create_node_outputs() {
        std::unordered_map<std::string, int> producer;
        const auto& nodes = m_.graph().node();
        for (int i = 0; i < nodes.size(); ++i) {
            for (const auto& out : nodes[i].output()) {
                if (out.empty()) continue;
                auto it = producer.find(out);
                if (it != producer.end())
                    return invalid_model("duplicate output name '", out, "': produced by node ",
                                         node_label(nodes[it->second], it->second), " and by node ",
                                         node_label(nodes[i], i));
                if (ir::Value* v = g_->find_value(out))
                    return invalid_model("node ", node_label(nodes[i], i), " writes '", out, "', which is already a ",
                                         v->is_graph_input() ? "graph input" : "initializer");
                if (out.rfind(internal::kOmittedOutputPrefix, 0) == 0)
                    return invalid_model("node ", node_label(nodes[i], i), " output '", out,
                                         "' uses a name reserved by qat");
                producer[out] = i;
                g_->add_value(out);
            }
        }
        return OkStatus();
    }

    Status read_nodes() {
        const auto& nodes = m_.graph().node();
        for (int i = 0; i < nodes.size(); ++i) {
            const auto& np = nodes[i];
            if (np.op_type().empty()) return invalid_model("node #", i, " has no op_type");
            std::vector<ir::Value*> ins;
            for (const auto& in : np.input()) {
                if (in.empty()) {
                    ins.push_back(nullptr);  // omitted optional input
                    continue;
                }
                ir::Value* v = g_->find_value(in);
                if (!v)
                    return invalid_model("dangling input '", in, "' of node ", node_label(np, i),
                                         ": no graph input, initializer or node output has that name"
                                         " (a missing initializer?)");
                ins.push_back(v);
            }
            std::vector<ir::Value*> outs;
            for (const auto& out : np.output())
                outs.push_back(out.empty() ? g_->add_value(g_->unique_value_name(internal::kOmittedOutputPrefix))
                                           : g_->find_value(out));
            ir::Node* n = g_->add_node_with_outputs(np.op_type(), ins, outs, np.name(), np.domain());
            n->doc_string = np.doc_string();
            for (const auto& ap : np.attribute()) {
                if (ap.name().empty())
                    return invalid_model("node ", node_label(np, i), " has an attribute without a name");
                if (n->has_attr(ap.name()))
                    return invalid_model("node ", node_label(np, i), " has attribute '", ap.name(), "' twice");
                auto a =
                    internal::attribute_from_proto(ap, "attribute '" + ap.name() + "' of node " + node_label(np, i));
                if (!a.ok()) return std::move(a).take_status();
                n->set_attr(ap.name(), std::move(a).value());
            }
            if (np.op_type() == "Constant" && (np.domain().empty() || np.domain() == "ai.onnx")) {
                if (np.output_size() != 1 || outs[0] == nullptr || np.output(0).empty())
                    return invalid_model("Constant node ", node_label(np, i), " must have exactly one named output");
                QAT_ASSIGN_OR_RETURN(Tensor payload, internal::constant_node_payload(*n));
                if (payload.defined()) outs[0]->set_constant(std::move(payload));
            }
        }
        return OkStatus();
    }

    Status read_outputs() {
        for (const auto& vi : m_.graph().output()) {
            if (vi.name().empty()) return invalid_model("a graph output has no name");
            const std::string what = "graph output '" + vi.name() + "'";
            ir::Value* v = g_->find_value(vi.name());
            if (!v) return invalid_model(what, " names no value: no node, graph input or initializer produces it");
            DataType dtype;
            Shape shape;
            QAT_RETURN_IF_ERROR(internal::type_from_proto(vi.type(), what, &dtype, &shape));
            apply_type(v, dtype, std::move(shape));
            if (!vi.doc_string().empty()) v->doc_string = vi.doc_string();
            g_->add_output(v);
        }
        return OkStatus();
    }

    // value_info is a hint: entries for unknown names or of types qat lacks are skipped.
    void read_value_info() {
        for (const auto& vi : m_.graph().value_info()) {
            ir::Value* v = g_->find_value(vi.name());
            if (!v) {
                QAT_LOG(kDebug) << what_ << ": value_info for unknown value '" << vi.name() << "' ignored";
                continue;
            }
            DataType dtype;
            Shape shape;
            Status s = internal::type_from_proto(vi.type(), "value_info '" + vi.name() + "'", &dtype, &shape);
            if (!s.ok()) {
                QAT_LOG(kDebug) << what_ << ": " << s.to_string() << " (ignored)";
                continue;
            }
            apply_type(v, dtype, std::move(shape));
            if (!vi.doc_string().empty()) v->doc_string = vi.doc_string();
        }
    }

    // Declared types never override a constant's payload, which is the truth.
    static void apply_type(ir::Value* v, DataType dtype, Shape shape) {
        if (v->is_constant()) return;
        if (dtype != DataType::kUndefined) v->set_dtype(dtype);
        if (shape.rank_known()) v->set_shape(std::move(shape));
    }

    const ::onnx::ModelProto& m_;
    std::string what_;
    ImportOptions opts_;
    std::unique_ptr<ir::Graph> g_;
};

}  // namespace

namespace internal {
Result<std::unique_ptr<ir::Graph>> graph_from_model_proto(const ::onnx::ModelProto& m, const std::string& what,
                                                          const ImportOptions& options) {
    auto r = Importer(m, what, options).run();
    if (!r.ok()) {
        Status s = std::move(r).take_status();
        Status out(s.code(), what + ": " + s.message());
        for (const auto& c : s.context()) out.with_context(c);
        return out;
    }
    return r;
}
}  // namespace internal

Result<std::unique_ptr<ir::Graph>> import_model_bytes(const std::string& bytes, const std::string& what,
                                                      const ImportOptions& options) {
    if (bytes.empty()) return invalid_argument(what, " is empty (0 bytes): not an ONNX model");
    if (static_cast<int64_t>(bytes.size()) > kMaxModelBytes)
        return unsupported(what, " is ", bytes.size(),
                           " bytes; models of 2 GB or more need external data, which qat does not read");
    ::onnx::ModelProto m;
    bool parsed = false;
    try {
        parsed = m.ParseFromString(bytes);
    } catch (const std::exception& e) {
        return invalid_argument(what, " could not be parsed: ", e.what());
    }
    if (!parsed)
        return invalid_argument(
            what, " is not a valid ONNX model: protobuf parse failed (truncated, corrupt or not an ONNX file)",
            sniff(bytes));
    // Protobuf's wire format is permissive: many non-ONNX files parse as a message with unknown
    // fields. A real model has an IR version and a graph.
    if (m.ir_version() <= 0 || !m.has_graph())
        return invalid_argument(what, " is not an ONNX model: it has no ", m.ir_version() <= 0 ? "ir_version" : "graph",
                                " field", sniff(bytes));
    return internal::graph_from_model_proto(m, what, options);
}

Result<std::unique_ptr<ir::Graph>> load_model(const std::string& path, const ImportOptions& options) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return not_found("model file not found: ", path);
    if (S_ISDIR(st.st_mode)) return invalid_argument(path, " is a directory, expected an ONNX model file");
    if (!S_ISREG(st.st_mode)) return invalid_argument(path, " is not a regular file");
    if (st.st_size == 0) return invalid_argument(path, " is empty (0 bytes): not an ONNX model");
    // Checked before reading: protobuf cannot parse 2 GB, and reading it first would waste minutes.
    if (static_cast<int64_t>(st.st_size) > kMaxModelBytes)
        return unsupported(path, " is ", st.st_size,
                           " bytes; models of 2 GB or more need ONNX external data, which qat does not read");
    QAT_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
    return import_model_bytes(bytes, path, options);
}

}  // namespace qat::onnx
