// Build-time timing of a plan, shared by the choices the engine makes by measuring them on this
// machine, the way TensorRT's builder times tactics: the FP32 layout (layout_choice.h) and the
// steps that run on one thread (thread_choice.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "runtime/plan.h"

namespace qat::engine {

// Zero tensors for every required graph input of `plan`; false when one has no static shape
// (a dynamic batch: nothing to time with).
bool zero_inputs(const runtime::Plan& plan, std::map<std::string, Tensor>* out);

// Milliseconds of one run of `plan`; negative when the run fails (logged under QAT_VERBOSE=engine).
double time_run(runtime::Plan& plan, const std::map<std::string, Tensor>& inputs);

// One run after one untimed run in the same configuration (a change of configuration re-prepares
// the steps: the untimed run pays it); with `step_ms`, the per-step profile of the timed run
// (the plan's profiling on).
double warm_time_run(runtime::Plan& plan, const std::map<std::string, Tensor>& inputs,
                     std::vector<double>* step_ms = nullptr);

// The plan's per-step profile on for a scope; its switch restored and the profile reset after.
class ProfilingOn {
  public:
    explicit ProfilingOn(runtime::Plan& p) : p_(p), was_(p.profiling()) {
        p_.set_profiling(true);
        p_.reset_profile();
    }
    ~ProfilingOn() {
        p_.set_profiling(was_);
        p_.reset_profile();
    }
    ProfilingOn(const ProfilingOn&) = delete;
    ProfilingOn& operator=(const ProfilingOn&) = delete;

  private:
    runtime::Plan& p_;
    bool was_;
};

// "1.23 ms".
std::string format_ms(double v);

}  // namespace qat::engine
