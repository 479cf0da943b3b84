#include "engine/layout_choice.h"

#include <algorithm>
#include <map>
#include <vector>

#include "core/tensor.h"
#include "engine/choice_names.h"
#include "engine/explain.h"
#include "engine/timing.h"
#include "ir/fused_ops.h"

namespace qat::engine {
namespace {

bool is_float_conv(const ir::Node& n) {
    const bool conv = (n.op_type() == "Conv" && n.domain().empty()) || ir::fused::is_fp32_fused_op(n);
    return conv && n.num_inputs() > 1 && n.input(0) && n.input(1) && n.input(0)->dtype() == DataType::kFloat32 &&
           n.num_outputs() > 0 && n.output(0)->dtype() == DataType::kFloat32;
}

}  // namespace

const char* fp32_layout_name(Fp32Layout l) {
    switch (l) {
        case Fp32Layout::kAuto:
            return "auto";
        case Fp32Layout::kBackend:
            return "backend";
        case Fp32Layout::kBlocked:
            return "blocked";
    }
    return "?";
}

Result<Fp32Layout> parse_fp32_layout(const std::string& s) {
    return parse_choice_name(s, {Fp32Layout::kAuto, Fp32Layout::kBackend, Fp32Layout::kBlocked}, fp32_layout_name,
                             "FP32 layout ");
}

int64_t fp32_conv_macs(const runtime::Plan& plan) {
    int64_t macs = 0;
    for (const auto& st : plan.steps()) {
        if (!st.node || st.backend != "onednn" || !is_float_conv(*st.node)) continue;
        auto out = st.node->output(0)->shape().static_dims();
        std::vector<std::vector<int64_t>> ins;
        for (const ir::Value* v : st.node->inputs())
            ins.push_back(v ? v->shape().static_dims().value_or(std::vector<int64_t>{}) : std::vector<int64_t>{});
        if (out) macs += std::max<int64_t>(0, node_macs(*st.node, ins, *out));
    }
    return macs;
}

Result<LayoutChoice> compile_with_fp32_layout(const ir::Graph& graph, const runtime::PlanOptions& base,
                                              Fp32Layout requested) {
    auto compile = [&](Fp32Layout l) {
        runtime::PlanOptions po = base;
        po.hints.fp32_conv_blocked = l == Fp32Layout::kBlocked;
        return runtime::Plan::compile(graph, po);
    };
    LayoutChoice c;
    c.layout = requested == Fp32Layout::kBlocked ? Fp32Layout::kBlocked : Fp32Layout::kBackend;
    QAT_ASSIGN_OR_RETURN(c.plan, compile(c.layout));
    if (requested != Fp32Layout::kAuto) {
        c.note = std::string(fp32_layout_name(c.layout)) + " (set by the options or the engine file, not timed)";
        return c;
    }
    std::map<std::string, Tensor> inputs;
    if (!zero_inputs(*c.plan, &inputs)) {
        c.note = "backend (auto: not timed, an input has no static shape; fix the batch to time)";
        return c;
    }
    const int64_t macs = fp32_conv_macs(*c.plan);
    if (macs < kMinTimedMacs) {
        c.note = "backend (auto: " + std::to_string(macs / 1'000'000) + "M FP32 convolution multiply-adds on oneDNN, " +
                 "fewer than the " + std::to_string(kMinTimedMacs / 1'000'000) + "M worth timing)";
        return c;
    }
    QAT_ASSIGN_OR_RETURN(std::unique_ptr<runtime::Plan> blocked, compile(Fp32Layout::kBlocked));
    // One warm-up run each (prepare, first touch of the buffers), then alternating rounds: three,
    // or as many as fit ~0.3 s up to 15 for small models (three rounds of a 4 ms network picked the
    // slower layout about one build in three on a busy machine); the fastest run of each counts
    // (the least disturbed by other work on the machine).
    double best[2] = {1e300, 1e300};
    runtime::Plan* plans[2] = {c.plan.get(), blocked.get()};
    int rounds = 3;
    for (int round = -1; round < rounds; ++round) {
        double both = 0;
        for (int k = 0; k < 2; ++k) {
            int i = (round & 1) ? 1 - k : k;
            double t = time_run(*plans[i], inputs);
            if (t < 0) {
                c.note = "backend (auto: a timing run on zero inputs failed)";
                return c;
            }
            if (round >= 0) best[i] = std::min(best[i], t);
            both += t;
        }
        if (round == -1) rounds = static_cast<int>(std::clamp(300.0 / std::max(both, 1e-3), 3.0, 15.0));
    }
    const std::string times = "backend " + format_ms(best[0]) + ", blocked " + format_ms(best[1]) + " per run";
    if (best[1] < 0.97 * best[0]) {
        c.layout = Fp32Layout::kBlocked;
        c.plan = std::move(blocked);
        c.note = "blocked (auto, timed at build: " + times + ")";
    } else {
        c.note = "backend (auto, timed at build: " + times + ")";
    }
    return c;
}

}  // namespace qat::engine
