// The steps of an engine that run on one thread whatever the thread count (EngineOptions::
// step_threads), chosen at build time by timing, like the FP32 layout (layout_choice.h).
//
// Why: every oneDNN primitive and loop of ours runs as an OpenMP parallel region, and on the
// 2-core machine of docs/BENCHMARKS.md a fork / join of GNU's OpenMP team costs 3-4 us (each of
// its barriers ends in a futex system call) and hands the data to the other core. A step with
// less work than that runs faster on the calling thread alone: the Fashion-MNIST models of
// `make demo` (28x28, convolutions of ~2M multiply-adds) ran 1.4-2.2x faster at batch 1 on one
// thread than on two; the large steps of the ImageNet-shaped models want both cores.
//
// `auto` (the default) with more than one thread and a fixed batch: the plan runs on zero inputs,
// per-step profile on, in alternating rounds with every step on all threads and with every
// candidate step (under kMaxSerialStepMs on all threads) on one thread; a step goes to one thread
// where its fastest one-thread time beats its fastest all-thread time by kSerialMargin. The mixed
// plan is kept only if its whole run is also faster than the uniform one, by kWholeMargin (the
// steps' times are not independent: data made by one core and read by two moves between their
// caches; and a smaller gain is within the noise of a shared machine). Plans of one run over
// kMaxTimedRunMs are not timed (their steps are large; timing them costs seconds). With a dynamic
// batch nothing is timed and the choice stays `auto` (an engine file keeps it so): an engine
// loaded for a fixed batch (`qat bench model.engine --batch 1`) times its steps then.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "runtime/plan.h"

namespace qat::engine {

inline constexpr double kMaxSerialStepMs = 0.1;
inline constexpr double kSerialMargin = 0.9;
inline constexpr double kMaxTimedRunMs = 20;
inline constexpr double kWholeMargin = 0.97;

// EngineOptions::step_threads: kAuto times the steps as above; kAll runs every step on the
// engine's threads; kChosen applies EngineOptions::serial_steps as they are (an engine file
// holds the choice made at its build).
enum class StepThreads { kAuto, kAll, kChosen };

// "auto", "all", "chosen".
const char* step_threads_name(StepThreads s);
// The inverse; an error naming the value and the choices otherwise.
Result<StepThreads> parse_step_threads(const std::string& s);
// What a user may ask for (CLI --step-threads, the public EngineOptions): "auto" or "all" (kChosen
// only comes from engine files); an error naming the value otherwise.
Result<StepThreads> parse_step_threads_request(const std::string& s);

struct ThreadChoice {
    StepThreads resolved = StepThreads::kAll;  // kChosen once decided; kAuto while the batch is unknown
    std::vector<std::string> serial_steps;     // node names of the steps on one thread
    std::string note;                          // what was chosen and why, for build / bench / explain
};

// Applies `requested` to `plan` and says what holds: kAll puts every step on the plan's threads;
// kChosen puts the `serial` steps on one thread (an unknown name is an error naming it); kAuto
// times the plan as above (and stays kAuto, untimed, with a dynamic batch).
Result<ThreadChoice> resolve_step_threads(runtime::Plan& plan, StepThreads requested,
                                          const std::vector<std::string>& serial);

}  // namespace qat::engine
