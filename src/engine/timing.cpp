#include "engine/timing.h"

#include <chrono>
#include <cstdio>

#include "core/logging.h"

namespace qat::engine {

bool zero_inputs(const runtime::Plan& plan, std::map<std::string, Tensor>* out) {
    for (const auto& name : plan.input_names()) {
        const ir::Value* v = plan.graph().find_value(name);
        if (!v || v->is_constant()) continue;
        auto dims = v->shape().static_dims();
        if (!dims || v->dtype() == DataType::kUndefined) return false;
        (*out)[name] = Tensor::zeros(v->dtype(), *dims);
    }
    return true;
}

double time_run(runtime::Plan& plan, const std::map<std::string, Tensor>& inputs) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = plan.run(inputs);
    auto t1 = std::chrono::steady_clock::now();
    if (!r.ok()) {
        QAT_VLOG("engine") << "timing run failed: " << r.status().to_string();
        return -1;
    }
    return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

double warm_time_run(runtime::Plan& plan, const std::map<std::string, Tensor>& inputs, std::vector<double>* step_ms) {
    if (time_run(plan, inputs) < 0) return -1;
    plan.reset_profile();
    const double t = time_run(plan, inputs);
    if (step_ms) {
        const auto prof = plan.profile();
        step_ms->assign(prof.size(), 0.0);
        for (size_t i = 0; i < prof.size(); ++i)
            (*step_ms)[i] = prof[i].runs > 0 ? prof[i].total_ms / static_cast<double>(prof[i].runs) : 0.0;
    }
    return t;
}

std::string format_ms(double v) {
    char b[32];
    std::snprintf(b, sizeof(b), "%.2f ms", v);
    return b;
}

}  // namespace qat::engine
