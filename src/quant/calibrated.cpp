#include "quant/calibrated.h"

#include "passes/quant/insert_qdq.h"

namespace qat::quant {

bool is_uncalibrated(const ir::Graph& g) {
    auto m = g.info().metadata(kUncalibratedKey);
    if (m && *m == "1") return true;
    for (const ir::Node* n : g.nodes())
        if (n->op_type() == "QuantizeLinear" && n->doc_string == passes::quant::kPlaceholderDoc) return true;
    return false;
}

void mark_uncalibrated(ir::Graph& g) { g.info().set_metadata(kUncalibratedKey, "1"); }

void mark_calibrated(ir::Graph& g) {
    auto& md = g.info().metadata_props;
    for (auto it = md.begin(); it != md.end();) it = it->first == kUncalibratedKey ? md.erase(it) : std::next(it);
    for (ir::Node* n : g.nodes())
        if (n->doc_string == passes::quant::kPlaceholderDoc) n->doc_string.clear();
}

Status check_calibrated(const ir::Graph& g) {
    if (!is_uncalibrated(g)) return OkStatus();
    return failed_precondition(
        "the model's activation Q/DQ scales are placeholders (quantized without calibration, metadata ",
        kUncalibratedKey,
        "=1): calibrate it with `qat calibrate MODEL --data ... -o OUT.onnx`, "
        "or re-run `qat quantize --calib-table TABLE.json`, or fine-tune it with `qat finetune`");
}

}  // namespace qat::quant
