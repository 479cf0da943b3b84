#include "onnx/version_convert.h"

#include <onnx/version_converter/convert.h>

#include <algorithm>
#include <exception>

#include "onnx/onnx_import.h"
#include "onnx/opset.h"
#include "onnx/proto_internal.h"

namespace qat::onnx {

Result<std::unique_ptr<ir::Graph>> upgrade_opset(const ir::Graph& graph, int64_t target, const std::string& what) {
    int64_t current = graph.info().opset("");
    if (target > kMaxOpset)
        return unsupported(what, ": cannot convert to opset ", target,
                           " (Debian's ONNX 1.12 handles opset <= ", kMaxOpset, ")");
    if (current >= target) return graph.clone();
    ::onnx::ModelProto in;
    QAT_RETURN_IF_ERROR(internal::graph_to_model_proto(graph, /*with_value_info=*/false, &in));
    ::onnx::ModelProto out;
    try {
        out = ::onnx::version_conversion::ConvertVersion(in, static_cast<int>(target));
    } catch (const std::exception& e) {
        return unsupported(what, ": ONNX's version converter cannot take the model from opset ", current, " to ",
                           target, ": ", e.what());
    }
    // The converter rebuilds the graph; model-level fields travel separately.
    out.set_ir_version(std::max<int64_t>(in.ir_version(), 7));  // opset 13 pairs with IR 7
    if (!in.producer_name().empty()) out.set_producer_name(in.producer_name());
    if (!in.producer_version().empty()) out.set_producer_version(in.producer_version());
    if (!in.domain().empty()) out.set_domain(in.domain());
    out.set_model_version(in.model_version());
    if (!in.doc_string().empty()) out.set_doc_string(in.doc_string());
    if (out.metadata_props_size() == 0) *out.mutable_metadata_props() = in.metadata_props();
    ImportOptions opts;
    opts.allow_old_opsets = true;
    auto g = internal::graph_from_model_proto(out, what + " (converted to opset " + std::to_string(target) + ")", opts);
    if (!g.ok()) return std::move(g).take_status();
    (*g)->info().set_opset("", target);
    return std::move(*g);
}

Result<std::unique_ptr<ir::Graph>> load_model_min_opset(const std::string& path, int64_t min_opset,
                                                        int64_t* from_opset) {
    ImportOptions opts;
    opts.allow_old_opsets = true;
    QAT_ASSIGN_OR_RETURN(std::unique_ptr<ir::Graph> g, load_model(path, opts));
    int64_t opset = g->info().opset("");
    if (from_opset) *from_opset = opset;
    if (opset >= min_opset || opset == 0) return g;
    return upgrade_opset(*g, min_opset, path);
}

}  // namespace qat::onnx
