#include "onnx/shape_inference.h"

#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include "onnx/proto_internal.h"

namespace qat::onnx {
namespace {

// Merges inferred facts into a Value: each dim becomes the more precise of the two
// (static > symbolic > unknown). A rank conflict keeps what the Value had.
void merge_into(ir::Value* v, DataType dtype, const Shape& inferred) {
    if (v->dtype() == DataType::kUndefined && dtype != DataType::kUndefined) v->set_dtype(dtype);
    if (!inferred.rank_known()) return;
    const Shape& cur = v->shape();
    if (!cur.rank_known()) {
        v->set_shape(inferred);
        return;
    }
    if (cur.rank() != inferred.rank()) return;
    Shape merged = cur;
    for (size_t i = 0; i < merged.rank(); ++i) {
        const Dim& a = cur[i];
        const Dim& b = inferred[i];
        if (!a.is_static() && b.is_static())
            merged[i] = b;
        else if (!a.is_static() && a.symbol.empty() && !b.symbol.empty())
            merged[i] = b;
    }
    v->set_shape(std::move(merged));
}

void apply(ir::Graph& g, const ::onnx::ValueInfoProto& vi) {
    ir::Value* v = g.find_value(vi.name());
    if (!v || v->is_constant() || v->is_graph_input()) return;
    DataType dtype;
    Shape shape;
    // Types qat cannot hold (sequences, strings) just stay unknown.
    if (!internal::type_from_proto(vi.type(), vi.name(), &dtype, &shape).ok()) return;
    merge_into(v, dtype, shape);
}

}  // namespace

Status infer_shapes(ir::Graph& graph) {
    ::onnx::ModelProto m;
    Status s = internal::graph_to_model_proto(graph, true, &m);
    if (!s.ok()) return std::move(s).with_context("while preparing shape inference");
    try {
        ::onnx::ShapeInferenceOptions opts{false /*check_type*/, 0 /*node errors are not fatal*/, true /*data prop*/};
        ::onnx::shape_inference::InferShapes(m, ::onnx::OpSchemaRegistry::Instance(), opts);
    } catch (const std::exception& e) {
        std::string msg = e.what();
        for (char& c : msg)
            if (c == '\n') c = ' ';
        return invalid_model("ONNX shape inference failed: ", msg);
    }
    for (const auto& vi : m.graph().value_info()) apply(graph, vi);
    for (const auto& vi : m.graph().output()) apply(graph, vi);
    return OkStatus();
}

}  // namespace qat::onnx
