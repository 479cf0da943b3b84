// The "uncalibrated" marker of a quantized model, and the check `qat build` / `qat eval` run.
//
// `qat quantize` without --calib-table (or --calib-data) still places every Q/DQ node, but the
// activation scales are placeholders: the model then carries the metadata_props entry
// "qat.uncalibrated" = "1" and each placeholder QuantizeLinear has the doc string
// passes::quant::kPlaceholderDoc. Calibration (`qat calibrate`) or fine-tuning (`qat finetune`)
// writes real scales and calls mark_calibrated(); the engine refuses a marked model.
//
//   QAT_RETURN_IF_ERROR(quant::check_calibrated(graph));   // in qat build / qat eval
#pragma once

#include "core/status.h"
#include "ir/graph.h"
#include "passes/quant/strip_qdq.h"

namespace qat::quant {

using passes::quant::kUncalibratedKey;  // "qat.uncalibrated"

// True when the marker is set, or a QuantizeLinear carries the placeholder doc string.
bool is_uncalibrated(const ir::Graph& graph);
// Sets the marker (model metadata "qat.uncalibrated" = "1").
void mark_uncalibrated(ir::Graph& graph);
// Clears the marker and the placeholder doc strings (after real scales were written).
void mark_calibrated(ir::Graph& graph);
// kFailedPrecondition for a marked model, with a message that says how to calibrate or
// fine-tune it; OK otherwise (float models included).
Status check_calibrated(const ir::Graph& graph);

}  // namespace qat::quant
