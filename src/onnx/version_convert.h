// Opset upgrade through ONNX's own version converter (onnx/version_converter/convert.h), so that
// Q/DQ placement can rely on opset >= 13 (per-channel QuantizeLinear/DequantizeLinear need the
// `axis` attribute, which appears in opset 13).
//
//   int64_t from = 0;
//   QAT_ASSIGN_OR_RETURN(auto g, onnx::load_model_min_opset("old.onnx", 13, &from));  // from = 11
//   QAT_ASSIGN_OR_RETURN(auto g13, onnx::upgrade_opset(*g, 13, "model"));
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "ir/graph.h"

namespace qat::onnx {

// A copy of `graph` converted to default-domain opset `target` (>= the current one). Model
// fields (metadata, producer, doc strings) are kept; the IR version is raised to what the
// opset needs. Errors name `what` and carry the converter's message (e.g. an op it cannot
// adapt).
Result<std::unique_ptr<ir::Graph>> upgrade_opset(const ir::Graph& graph, int64_t target, const std::string& what);

// Loads `path` (older opsets than the importer's usual minimum are accepted here, since they
// are converted) and upgrades it to `min_opset` when it is older. `*from_opset` (optional) gets
// the model's original default-domain opset.
Result<std::unique_ptr<ir::Graph>> load_model_min_opset(const std::string& path, int64_t min_opset,
                                                        int64_t* from_opset = nullptr);

}  // namespace qat::onnx
