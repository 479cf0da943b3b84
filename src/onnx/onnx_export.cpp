#include "onnx/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <set>

#include "core/file_util.h"
#include "onnx/onnx_import.h"
#include "onnx/opset.h"
#include "onnx/proto_internal.h"

namespace qat::onnx {
namespace internal {
namespace {

// ONNX's messages span lines ("...\n\n==> Context: ..."); qat prints one line per error.
std::string one_line(const std::string& s) {
    std::string out;
    bool space = false;
    for (char c : s) {
        if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
            space = !out.empty();
            continue;
        }
        if (space) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

void value_info_to_proto(const ir::Value& v, ::onnx::ValueInfoProto* p) {
    p->set_name(v.name());
    type_to_proto(v.dtype(), v.shape(), p->mutable_type());
    if (!v.doc_string.empty()) p->set_doc_string(v.doc_string);
}

bool is_default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

// Attributes of a Constant node: the original ones while they still describe the output's
// payload, otherwise (a pass called set_constant) a single `value` tensor.
Status constant_attrs(const ir::Node& n, std::map<std::string, ir::Attribute>* attrs) {
    *attrs = n.attrs();
    const ir::Value* out = n.output(0);
    if (n.num_outputs() != 1 || !out || !out->is_constant()) return OkStatus();
    QAT_ASSIGN_OR_RETURN(Tensor from_attrs, constant_node_payload(n));
    if (from_attrs.defined() && from_attrs.equals(out->constant())) return OkStatus();
    attrs->clear();
    (*attrs)["value"] = ir::Attribute::from_tensor(out->constant());
    return OkStatus();
}

}  // namespace

Status graph_to_model_proto(const ir::Graph& g, bool with_value_info, ::onnx::ModelProto* m) {
    const ir::ModelInfo& info = g.info();
    QAT_ASSIGN_OR_RETURN(std::vector<ir::Node*> order, g.topo_order());

    // IR < 4 requires every initializer to be a graph input; a graph built or changed in code
    // may break that, so such a model is written as IR 4 (the first version without the rule).
    int64_t ir_version = info.ir_version > 0 ? info.ir_version : kMaxIrVersion;
    if (ir_version < 4)
        for (const ir::Value* v : g.initializers())
            if (!v->is_graph_input()) ir_version = 4;
    m->set_ir_version(ir_version);

    // Opset imports as recorded, plus any domain a node uses that nobody imported (e.g. a node a
    // pass added), so the checker can resolve every node.
    std::set<std::string> imported;
    for (const auto& o : info.opsets) {
        auto* op = m->add_opset_import();
        op->set_domain(o.domain);
        op->set_version(o.version);
        imported.insert(is_default_domain(o.domain) ? "" : o.domain);
    }
    for (const ir::Node* n : order) {
        std::string d = is_default_domain(n->domain()) ? "" : n->domain();
        if (imported.insert(d).second) {
            auto* op = m->add_opset_import();
            op->set_domain(d);
            op->set_version(d.empty() ? kDefaultOpset : 1);
        }
    }
    if (!info.producer_name.empty()) m->set_producer_name(info.producer_name);
    if (!info.producer_version.empty()) m->set_producer_version(info.producer_version);
    if (!info.domain.empty()) m->set_domain(info.domain);
    if (info.model_version != 0) m->set_model_version(info.model_version);
    if (!info.doc_string.empty()) m->set_doc_string(info.doc_string);
    for (const auto& [k, v] : info.metadata_props) {
        auto* kv = m->add_metadata_props();
        kv->set_key(k);
        kv->set_value(v);
    }

    auto* gp = m->mutable_graph();
    gp->set_name(info.graph_name);
    if (!info.graph_doc_string.empty()) gp->set_doc_string(info.graph_doc_string);

    for (const ir::Value* v : g.inputs()) value_info_to_proto(*v, gp->add_input());
    for (const ir::Value* v : g.initializers()) {
        auto* t = gp->add_initializer();
        tensor_to_proto(v->constant(), t);
        t->set_name(v->name());
        // An input's doc string travels on its ValueInfo; a plain initializer's on the tensor.
        if (!v->is_graph_input() && !v->doc_string.empty()) t->set_doc_string(v->doc_string);
    }

    for (const ir::Node* n : order) {
        auto* np = gp->add_node();
        np->set_op_type(n->op_type());
        if (!n->domain().empty()) np->set_domain(n->domain());
        if (!n->name().empty()) np->set_name(n->name());
        if (!n->doc_string.empty()) np->set_doc_string(n->doc_string);
        for (const ir::Value* in : n->inputs()) np->add_input(in ? in->name() : std::string());
        for (const ir::Value* out : n->outputs()) {
            if (is_omitted_output(*out)) {
                if (out->has_uses() || out->is_graph_output())
                    return invalid_model(n->desc(), ": omitted output placeholder '", out->name(), "' is read");
                np->add_output("");
            } else {
                np->add_output(out->name());
            }
        }
        std::map<std::string, ir::Attribute> attrs;
        if (n->op_type() == "Constant" && is_default_domain(n->domain())) {
            QAT_RETURN_IF_ERROR(constant_attrs(*n, &attrs));
        } else {
            attrs = n->attrs();
        }
        for (const auto& [name, a] : attrs) {
            Status s = attribute_to_proto(name, a, np->add_attribute());
            if (!s.ok()) return std::move(s).with_context("while exporting " + n->desc());
        }
    }

    for (const ir::Value* v : g.outputs()) value_info_to_proto(*v, gp->add_output());

    if (with_value_info) {
        for (const ir::Value* v : g.values()) {
            if (v->is_graph_input() || v->is_graph_output() || v->is_initializer() || !v->producer()) continue;
            if (is_omitted_output(*v) || v->dtype() == DataType::kUndefined) continue;
            // A Constant's output type is its payload's; writing it again adds nothing.
            if (v->is_constant()) continue;
            value_info_to_proto(*v, gp->add_value_info());
        }
    }

    size_t bytes = m->ByteSizeLong();
    if (bytes > static_cast<size_t>(kMaxModelBytes))
        return unsupported("the exported model would be ", bytes,
                           " bytes, above protobuf's 2 GB limit (external data is not supported)");
    return OkStatus();
}

Status run_onnx_checks(const ::onnx::ModelProto& m) {
    ::onnx::ModelProto copy = m;
    try {
        ::onnx::checker::check_model(copy);
    } catch (const ::onnx::checker::ValidationError& e) {
        return invalid_model("ONNX checker: ", one_line(e.what()));
    } catch (const std::exception& e) {
        return invalid_model("ONNX checker: ", one_line(e.what()));
    }
    try {
        ::onnx::ShapeInferenceOptions opts{true /*check_type*/, 1 /*strict error mode*/, false};
        ::onnx::shape_inference::InferShapes(copy, ::onnx::OpSchemaRegistry::Instance(), opts);
    } catch (const ::onnx::InferenceError& e) {
        return invalid_model("ONNX shape inference: ", one_line(e.what()));
    } catch (const std::exception& e) {
        return invalid_model("ONNX shape inference: ", one_line(e.what()));
    }
    return OkStatus();
}

}  // namespace internal

Result<std::string> export_model_bytes(const ir::Graph& graph, const ExportOptions& options) {
    ::onnx::ModelProto m;
    QAT_RETURN_IF_ERROR(internal::graph_to_model_proto(graph, options.value_info, &m));
    if (options.check) QAT_RETURN_IF_ERROR(internal::run_onnx_checks(m));
    std::string bytes;
    if (!m.SerializeToString(&bytes)) return internal_error("protobuf could not serialize the exported model");
    return bytes;
}

Status save_model(const ir::Graph& graph, const std::string& path, const ExportOptions& options) {
    // The destination is checked before the (possibly long) export.
    QAT_RETURN_IF_ERROR(check_writable_file(path));
    QAT_ASSIGN_OR_RETURN(std::string bytes, export_model_bytes(graph, options));
    return write_file_atomic(path, bytes);
}

Status check_model(const ir::Graph& graph) {
    ::onnx::ModelProto m;
    QAT_RETURN_IF_ERROR(internal::graph_to_model_proto(graph, true, &m));
    return internal::run_onnx_checks(m);
}

Status check_model_bytes(const std::string& bytes, const std::string& what) {
    ::onnx::ModelProto m;
    if (!m.ParseFromString(bytes)) return invalid_argument(what, " is not a valid ONNX model (protobuf parse failed)");
    Status s = internal::run_onnx_checks(m);
    if (!s.ok()) return Status(s.code(), what + ": " + s.message());
    return s;
}

}  // namespace qat::onnx
