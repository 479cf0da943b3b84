#include "engine/image_choice.h"

#include <algorithm>
#include <map>
#include <vector>

#include "engine/choice_names.h"
#include "engine/timing.h"

namespace qat::engine {
namespace {

constexpr int kRounds = 3;  // alternating rounds of whole-run timing (the fastest run of each counts)

// The cuts after the steps whose 4-D output first goes below the spatial size of every earlier
// one (the ends of the resolution stages; 1 x 1 outputs, global pools, do not count), in plan
// order, in the first half of the plan.
std::vector<size_t> stage_cuts(const runtime::Plan& plan, const std::vector<runtime::StepProfile>& prof) {
    const auto steps = plan.steps();
    std::vector<size_t> cuts;
    int64_t smallest = -1;
    for (size_t i = 0; i < prof.size() && i < steps.size(); ++i) {
        if (prof[i].out_dims.empty() || prof[i].out_dims[0].size() != 4) continue;
        const auto& d = prof[i].out_dims[0];
        const int64_t hw = d[2] * d[3];
        if (hw <= 1) continue;  // a global pool (squeeze-and-excitation, the head): no stage
        if (smallest >= 0 && hw < smallest && steps[i].node && !steps[i].node->name().empty() &&
            i + 1 <= steps.size() / 2)
            cuts.push_back(i + 1);
        if (smallest < 0 || hw < smallest) smallest = hw;
    }
    if (cuts.size() > static_cast<size_t>(kMaxImageCandidates)) cuts.resize(kMaxImageCandidates);
    return cuts;
}

// "steps 1-20 of 100 (through blocks3.0.dw.conv) one image at a time (why)".
std::string cut_note(size_t k, size_t steps, const std::string& through, const std::string& why) {
    return "steps 1-" + std::to_string(k) + " of " + std::to_string(steps) + " (through " + through +
           ") one image at a time (" + why + ")";
}

Result<ImageChoice> choose_image_steps(runtime::Plan& plan) {
    ImageChoice c;
    c.resolved = ImageSteps::kOff;
    QAT_RETURN_IF_ERROR(plan.set_image_steps(0));
    std::map<std::string, Tensor> inputs;
    if (!zero_inputs(plan, &inputs)) {
        c.resolved = ImageSteps::kAuto;
        c.note = "whole batch (auto: not timed, an input has no static shape; fix the batch to time)";
        return c;
    }
    int64_t batch = 0;
    for (const auto& [name, t] : inputs) batch = t.rank() > 0 ? t.dim(0) : 0;
    if (batch < 2) {
        c.note = "whole batch (auto: a batch of " + std::to_string(batch) + ")";
        return c;
    }
    double whole0 = -1;
    std::vector<size_t> cuts;
    {
        ProfilingOn profiling(plan);
        whole0 = warm_time_run(plan, inputs);
        cuts = stage_cuts(plan, plan.profile());
    }
    if (whole0 < 0) {
        c.note = "whole batch (auto: a timing run on zero inputs failed)";
        return c;
    }
    if (whole0 > kMaxImageTimedRunMs) {
        c.note = "whole batch (auto: not timed, one run takes " + format_ms(whole0) + ")";
        return c;
    }
    if (cuts.empty()) {
        c.note = "whole batch (auto: no resolution stage to cut after)";
        return c;
    }
    // Configurations: 0 (the whole batch), then each cut; a cut whose run fails is dropped.
    std::vector<size_t> configs{0};
    configs.insert(configs.end(), cuts.begin(), cuts.end());
    std::vector<double> best(configs.size(), 1e300);
    best[0] = whole0;
    for (int round = 0; round < kRounds; ++round)
        for (size_t k = 0; k < configs.size(); ++k) {
            const size_t which = (k + static_cast<size_t>(round)) % configs.size();
            if (best[which] < 0) continue;
            QAT_RETURN_IF_ERROR(plan.set_image_steps(configs[which]));
            const double t = warm_time_run(plan, inputs);
            best[which] = t < 0 ? -1 : std::min(best[which], t);
        }
    size_t pick = 0;
    for (size_t k = 1; k < configs.size(); ++k)
        if (best[k] >= 0 && best[k] < best[pick]) pick = k;
    const auto steps = plan.steps();
    std::string times = "whole batch " + format_ms(best[0]);
    for (size_t k = 1; k < configs.size(); ++k)
        times += ", through " + steps[configs[k] - 1].node->name() + " " +
                 (best[k] < 0 ? std::string("failed") : format_ms(best[k]));
    if (pick == 0 || !(best[pick] < kImageMargin * best[0])) {
        QAT_RETURN_IF_ERROR(plan.set_image_steps(0));
        c.note = "whole batch (auto, timed per run: " + times + ")";
        return c;
    }
    QAT_RETURN_IF_ERROR(plan.set_image_steps(configs[pick]));
    c.resolved = ImageSteps::kChosen;
    c.through = steps[configs[pick] - 1].node->name();
    c.note = cut_note(configs[pick], steps.size(), c.through, "auto, timed per run: " + times);
    return c;
}

}  // namespace

const char* image_steps_name(ImageSteps s) {
    switch (s) {
        case ImageSteps::kAuto:
            return "auto";
        case ImageSteps::kOff:
            return "off";
        case ImageSteps::kChosen:
            return "chosen";
    }
    return "?";
}

Result<ImageSteps> parse_image_steps(const std::string& s) {
    return parse_choice_name(s, {ImageSteps::kAuto, ImageSteps::kOff, ImageSteps::kChosen}, image_steps_name,
                             "image steps ");
}

Result<ImageSteps> parse_image_steps_request(const std::string& s) {
    return parse_choice_name(s, {ImageSteps::kAuto, ImageSteps::kOff}, image_steps_name, "");
}

Result<ImageChoice> resolve_image_steps(runtime::Plan& plan, ImageSteps requested, const std::string& through) {
    ImageChoice c;
    switch (requested) {
        case ImageSteps::kOff:
            QAT_RETURN_IF_ERROR(plan.set_image_steps(0));
            c.note = "whole batch (off)";
            return c;
        case ImageSteps::kChosen: {
            const auto steps = plan.steps();
            for (size_t i = 0; i < steps.size(); ++i)
                if (steps[i].node && steps[i].node->name() == through) {
                    QAT_RETURN_IF_ERROR(plan.set_image_steps(i + 1));
                    c.resolved = ImageSteps::kChosen;
                    c.through = through;
                    c.note = cut_note(i + 1, steps.size(), through, "chosen at build");
                    return c;
                }
            return invalid_argument("image steps: '", through, "' names no step of the plan");
        }
        case ImageSteps::kAuto:
            return choose_image_steps(plan);
    }
    return c;
}

}  // namespace qat::engine
