// ir::Graph -> ONNX model, and ONNX's own checks on it.
//
// Export writes nodes in topological order (stable: an already sorted graph keeps its order),
// graph inputs and outputs with their dtype/shape, initializers (raw_data), Constant nodes (with
// the payload of their output Value when a pass replaced it), value_info for intermediate values
// of known dtype, the opset imports and the model fields of ir::ModelInfo. Re-exporting an
// imported model is lossless: same nodes (op, domain, name, inputs, outputs), attributes,
// initializer bytes, value names, graph inputs and outputs.
//
//   QAT_RETURN_IF_ERROR(onnx::save_model(graph, "out.onnx", {.check = true}));
//   QAT_RETURN_IF_ERROR(onnx::check_model(graph));   // checker + strict shape inference
#pragma once

#include <string>

#include "core/status.h"
#include "ir/graph.h"

namespace qat::onnx {

struct ExportOptions {
    // Run onnx::checker::check_model and strict shape inference on the result; their message
    // becomes the error. Off by default: the checks cost time on big models.
    bool check = false;
    // Write value_info for intermediate values whose dtype is known.
    bool value_info = true;
};

// Serialized ModelProto.
Result<std::string> export_model_bytes(const ir::Graph& graph, const ExportOptions& options = {});
// Atomic write (core/file_util.h): on error `path` is untouched.
Status save_model(const ir::Graph& graph, const std::string& path, const ExportOptions& options = {});

// Exports `graph` and runs onnx::checker::check_model plus strict shape inference
// (check_type on, error mode 1): OK, or the checker's message.
Status check_model(const ir::Graph& graph);
// The same checks on a serialized model (e.g. a file read from disk).
Status check_model_bytes(const std::string& bytes, const std::string& what = "model");

}  // namespace qat::onnx
