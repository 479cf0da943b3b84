// ONNX model -> ir::Graph.
//
// Reads opsets 9..17 of the default domain and IR versions up to 8 (Debian's ONNX 1.12; see
// opset.h). What the graph keeps, so that export reproduces the model:
//   - initializers (raw or typed storage) as constant Values; external data is refused;
//   - Constant nodes stay nodes, and their output Value also carries the payload
//     (Value::set_constant), so passes treat it as a weight;
//   - graph inputs that are also initializers (IR < 4 style) are initializers marked as inputs;
//   - symbolic dims (dim_param) as Dim::symbolic, value_info dtype/shape on intermediate values;
//   - doc strings, metadata_props and the model-level fields in ir::ModelInfo;
//   - attributes of every kind (subgraphs, sparse tensors, type protos as Attribute::opaque);
//   - omitted optional node outputs ("" in ONNX) as placeholder Values (is_omitted_output()).
// Malformed models (dangling inputs, values produced twice, cycles, corrupt tensors) give one
// line naming the file and the node/value. Unknown ops are not an import error: runtime::Plan
// lists every op it cannot run when it compiles.
//
//   QAT_ASSIGN_OR_RETURN(std::unique_ptr<ir::Graph> g, onnx::load_model("resnet18.onnx"));
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "ir/graph.h"

namespace qat::onnx {

struct ImportOptions {
    // Also accept default-domain opsets below 9 (round-trip tests of old models only: nothing in
    // qat promises to run them). The upper bounds (opset 17, IR 8) always hold.
    bool allow_old_opsets = false;
};

// Protobuf cannot parse messages of 2 GB or more; larger models need external data.
constexpr int64_t kMaxModelBytes = (int64_t{1} << 31) - 1;

Result<std::unique_ptr<ir::Graph>> load_model(const std::string& path, const ImportOptions& options = {});
// `what` names the source in messages (a path, "model bytes").
Result<std::unique_ptr<ir::Graph>> import_model_bytes(const std::string& bytes, const std::string& what,
                                                      const ImportOptions& options = {});

// True for the placeholder Value that stands for an omitted optional node output ("" in ONNX).
// Export writes "" for it; nothing may read it.
bool is_omitted_output(const ir::Value& v);

}  // namespace qat::onnx
