#include "engine/thread_choice.h"

#include <algorithm>
#include <map>
#include <set>

#include "engine/choice_names.h"
#include "engine/timing.h"

namespace qat::engine {
namespace {

constexpr int kStepRounds = 3;   // alternating rounds of per-step timing
constexpr int kWholeRounds = 3;  // alternating rounds of the final whole-run check

Status set_serial(runtime::Plan& plan, const std::vector<bool>& serial) {
    for (size_t i = 0; i < serial.size(); ++i) QAT_RETURN_IF_ERROR(plan.set_step_threads(i, serial[i] ? 1 : 0));
    return OkStatus();
}

std::string uniform_note(int threads, const std::string& why) {
    return "every step on " + std::to_string(threads) + " thread" + (threads == 1 ? "" : "s") + " (" + why + ")";
}

Status apply_serial_steps(runtime::Plan& plan, const std::vector<std::string>& names, const std::string& what) {
    const std::set<std::string> want(names.begin(), names.end());
    std::set<std::string> found;
    const auto steps = plan.steps();
    for (size_t i = 0; i < steps.size(); ++i) {
        const bool serial = steps[i].node && want.count(steps[i].node->name()) > 0;
        if (serial) found.insert(steps[i].node->name());
        QAT_RETURN_IF_ERROR(plan.set_step_threads(i, serial ? 1 : 0));
    }
    for (const auto& n : want)
        if (!found.count(n)) return invalid_argument(what, ": serial step '", n, "' names no step of the plan");
    return OkStatus();
}

Result<ThreadChoice> choose_serial_steps(runtime::Plan& plan) {
    ThreadChoice c;
    c.resolved = StepThreads::kChosen;
    const int threads = plan.num_threads();
    const auto steps = plan.steps();
    std::vector<bool> none(steps.size(), false);
    QAT_RETURN_IF_ERROR(set_serial(plan, none));
    if (threads <= 1) {
        c.note = uniform_note(threads, "auto: one thread asked");
        return c;
    }
    std::map<std::string, Tensor> inputs;
    if (!zero_inputs(plan, &inputs)) {
        c.note = uniform_note(threads, "auto: not timed, an input has no static shape; fix the batch to time");
        c.resolved = StepThreads::kAuto;
        return c;
    }
    ProfilingOn profiling(plan);
    std::vector<double> ms;
    const double first = warm_time_run(plan, inputs, &ms);
    if (first < 0) {
        c.note = uniform_note(threads, "auto: a timing run on zero inputs failed");
        return c;
    }
    if (first > kMaxTimedRunMs) {
        c.note = uniform_note(threads, "auto: not timed, one run takes " + format_ms(first));
        return c;
    }
    // Candidates: small steps with a kernel and a name (the choice is kept by node name).
    std::vector<bool> cand(steps.size(), false);
    bool any = false;
    for (size_t i = 0; i < steps.size(); ++i) {
        cand[i] = steps[i].backend != "constant" && steps[i].node && !steps[i].node->name().empty() &&
                  ms[i] < kMaxSerialStepMs;
        any = any || cand[i];
    }
    if (!any) {
        c.note = uniform_note(threads, "auto: no step under " + format_ms(kMaxSerialStepMs));
        return c;
    }
    std::vector<double> best_all(steps.size(), 1e300), best_one(steps.size(), 1e300);
    for (int round = 0; round < kStepRounds; ++round)
        for (int k = 0; k < 2; ++k) {
            const bool one = ((round & 1) != 0) != (k == 1);
            QAT_RETURN_IF_ERROR(set_serial(plan, one ? cand : none));
            if (warm_time_run(plan, inputs, &ms) < 0) {
                QAT_RETURN_IF_ERROR(set_serial(plan, none));
                c.note = uniform_note(threads, "auto: a timing run on zero inputs failed");
                return c;
            }
            auto& best = one ? best_one : best_all;
            for (size_t i = 0; i < steps.size(); ++i) best[i] = std::min(best[i], ms[i]);
        }
    std::vector<bool> chosen(steps.size(), false);
    size_t n_chosen = 0, n_cand = 0;
    for (size_t i = 0; i < steps.size(); ++i) {
        chosen[i] = cand[i] && best_one[i] < kSerialMargin * best_all[i];
        n_chosen += chosen[i];
        n_cand += cand[i];
    }
    // The whole run decides, among: every step on all threads, the steps chosen above on one,
    // every candidate on one (a run of small steps on one core keeps its data in that core's
    // cache, which the per-step times do not see).
    const std::vector<bool>* configs[3] = {&none, &chosen, &cand};
    double whole[3] = {1e300, 1e300, 1e300};
    for (int round = 0; round < kWholeRounds; ++round)
        for (int k = 0; k < 3; ++k) {
            const int which = (round + k) % 3;
            if (which == 1 && (n_chosen == 0 || n_chosen == n_cand)) continue;  // same as another
            QAT_RETURN_IF_ERROR(set_serial(plan, *configs[which]));
            const double t = warm_time_run(plan, inputs);
            if (t < 0) {
                QAT_RETURN_IF_ERROR(set_serial(plan, none));
                c.note = uniform_note(threads, "auto: a timing run on zero inputs failed");
                return c;
            }
            whole[which] = std::min(whole[which], t);
        }
    const int best = whole[2] <= whole[1] ? 2 : 1;
    std::string times = "all on " + std::to_string(threads) + ": " + format_ms(whole[0]);
    if (whole[1] < 1e300) times += ", the " + std::to_string(n_chosen) + " faster alone on one: " + format_ms(whole[1]);
    times += ", all " + std::to_string(n_cand) + " under " + format_ms(kMaxSerialStepMs) +
             " on one: " + format_ms(whole[2]) + " per run";
    if (!(whole[best] < kWholeMargin * whole[0])) {
        QAT_RETURN_IF_ERROR(set_serial(plan, none));
        c.note = uniform_note(threads, "auto, timed: " + times);
        return c;
    }
    const std::vector<bool>& pick = *configs[best];
    QAT_RETURN_IF_ERROR(set_serial(plan, pick));
    size_t n = 0;
    for (size_t i = 0; i < steps.size(); ++i)
        if (pick[i]) {
            c.serial_steps.push_back(steps[i].node->name());
            ++n;
        }
    c.note = (n == steps.size() ? std::string("every step on one thread")
                                : std::to_string(n) + " of " + std::to_string(steps.size()) +
                                      " steps on one thread, the rest on " + std::to_string(threads)) +
             " (auto, timed: " + times + ")";
    return c;
}

}  // namespace

const char* step_threads_name(StepThreads s) {
    switch (s) {
        case StepThreads::kAuto:
            return "auto";
        case StepThreads::kAll:
            return "all";
        case StepThreads::kChosen:
            return "chosen";
    }
    return "?";
}

Result<StepThreads> parse_step_threads(const std::string& s) {
    return parse_choice_name(s, {StepThreads::kAuto, StepThreads::kAll, StepThreads::kChosen}, step_threads_name,
                             "step threads ");
}

Result<StepThreads> parse_step_threads_request(const std::string& s) {
    return parse_choice_name(s, {StepThreads::kAuto, StepThreads::kAll}, step_threads_name, "");
}

Result<ThreadChoice> resolve_step_threads(runtime::Plan& plan, StepThreads requested,
                                          const std::vector<std::string>& serial) {
    const std::string n = std::to_string(plan.num_threads());
    ThreadChoice c;  // kAll
    switch (requested) {
        case StepThreads::kAll:
            QAT_RETURN_IF_ERROR(apply_serial_steps(plan, {}, "step threads"));
            c.note = uniform_note(plan.num_threads(), "set by the options, not timed");
            return c;
        case StepThreads::kChosen:
            QAT_RETURN_IF_ERROR(apply_serial_steps(plan, serial, "engine options"));
            c.resolved = StepThreads::kChosen;
            c.serial_steps = serial;
            c.note = (serial.empty() ? "every step on " + n + " threads"
                                     : std::to_string(serial.size()) + " steps on one thread, the rest on " + n) +
                     " (chosen at the engine's build, not timed again)";
            return c;
        case StepThreads::kAuto:
            break;
    }
    return choose_serial_steps(plan);
}

}  // namespace qat::engine
