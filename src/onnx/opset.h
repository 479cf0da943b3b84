// Which ONNX versions qat reads and writes, and the check that enforces it.
//
// The protobuf classes, checker and shape inference come from Debian's ONNX 1.12, which knows
// the default domain up to opset 17 and IR version 8. Older default-domain opsets (< 9) predate
// the operator semantics the passes and kernels assume (e.g. Upsample/Resize, BatchNormalization's
// spatial attribute), so they are refused rather than silently misread.
//
//   QAT_RETURN_IF_ERROR(onnx::check_versions(graph.info(), "model.onnx"));
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "ir/graph.h"

namespace qat::onnx {

constexpr int64_t kMinOpset = 9;
constexpr int64_t kMaxOpset = 17;
constexpr int64_t kMaxIrVersion = 8;
// Opset written for graphs that import nothing for the default domain (built in code).
constexpr int64_t kDefaultOpset = 13;

// IR version <= 8 and a default-domain opset in [kMinOpset, kMaxOpset]; the message names
// `what` and says which version and why. `check_min_opset` false skips the lower bound only.
Status check_versions(const ir::ModelInfo& info, const std::string& what, bool check_min_opset = true);

}  // namespace qat::onnx
