// Checks of a Q/DQ model's quantization parameters before the engine touches it: the user-facing
// errors of `qat build` / `qat eval` / `qat explain` for a broken model.
//
//   QAT_RETURN_IF_ERROR(passes::check_qdq_params(graph));
//
// Refused, with the node named: a scale that is zero, negative, NaN or infinite; a zero point of
// another length than the scale, or outside its type's range; a per-axis scale whose length is
// not the input's dim along `axis` (when that dim is known), or an axis outside the input's rank.
#pragma once

#include "core/status.h"
#include "ir/graph.h"

namespace qat::passes {

Status check_qdq_params(const ir::Graph& graph);

}  // namespace qat::passes
