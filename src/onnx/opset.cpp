#include "onnx/opset.h"

namespace qat::onnx {

Status check_versions(const ir::ModelInfo& info, const std::string& what, bool check_min_opset) {
    if (info.ir_version > kMaxIrVersion)
        return unsupported(what, " has IR version ", info.ir_version,
                           ", newer than qat reads: Debian's ONNX 1.12 handles opset <= ", kMaxOpset,
                           " / IR <= ", kMaxIrVersion, " (re-export the model with opset <= ", kMaxOpset, ")");
    for (const auto& o : info.opsets) {
        if (!o.domain.empty() && o.domain != "ai.onnx") continue;
        if (o.version > kMaxOpset)
            return unsupported(
                what, " imports opset ", o.version,
                " of the default ONNX domain, newer than qat reads: Debian's ONNX 1.12 handles opset <= ", kMaxOpset,
                " / IR <= ", kMaxIrVersion, " (re-export the model with opset ", kMinOpset, "..", kMaxOpset, ")");
        if (check_min_opset && o.version < kMinOpset)
            return unsupported(
                what, " imports opset ", o.version, " of the default ONNX domain; qat reads opsets ", kMinOpset, "..",
                kMaxOpset,
                " (older operator versions differ in semantics; convert the model with onnx.version_converter)");
    }
    return OkStatus();
}

}  // namespace qat::onnx
