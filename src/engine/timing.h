// Build-time timing of a plan, shared by the choices the engine makes by measuring them on this
// machine, the way TensorRT's builder times tactics: the FP32 layout (layout_choice.h) and the
// steps that run on one thread (thread_choice.h).
#pragma once

#include <map>
#include <string>

#include "core/tensor.h"
#include "runtime/plan.h"

namespace qat::engine {

// Zero tensors for every required graph input of `plan`; false when one has no static shape
// (a dynamic batch: nothing to time with).
bool zero_inputs(const runtime::Plan& plan, std::map<std::string, Tensor>* out);

// Milliseconds of one run of `plan`; negative when the run fails (logged under QAT_VERBOSE=engine).
double time_run(runtime::Plan& plan, const std::map<std::string, Tensor>& inputs);

// "1.23 ms".
std::string format_ms(double v);

}  // namespace qat::engine
