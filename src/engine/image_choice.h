// The early steps of an engine that run one image at a time on a batch (EngineOptions::
// image_steps, runtime::Plan::set_image_steps), chosen at build time by timing, like the step
// threads (thread_choice.h) and the FP32 layout (layout_choice.h).
//
// Why: at batch 16 the activations of the high-resolution layers (0.2-5 MB an image) go through
// memory from one step to the next; one image at a time they stay in the cores' caches. On the
// Zen 4 machine of docs/BENCHMARKS.md (batch 16, two threads) EfficientNet-B0's FP32 engine ran
// 94.8 -> 79.7 ms with its steps through blocks3.1 one image at a time, its INT8 engine 34.4 ->
// 33.8 ms.
//
// `auto` (the default) with a fixed batch of two or more: one profiled run on zero inputs gives
// each step's output dims; the candidates are the cuts after the steps where the spatial size
// (H x W of a 4-D output) drops below every earlier one, the first kMaxImageCandidates of them
// (not the last drop, to 1 x 1 or past the middle of the plan). The whole batch and each candidate
// are timed in three alternating rounds (each after an untimed run: switching re-prepares the steps);
// the fastest candidate is kept where it beats the whole batch by kImageMargin. Plans whose one
// run takes over kMaxImageTimedRunMs are not timed. With a dynamic batch nothing is timed and the
// choice stays `auto` (an engine file keeps it so).
#pragma once

#include <string>

#include "core/status.h"
#include "runtime/plan.h"

namespace qat::engine {

inline constexpr int kMaxImageCandidates = 4;
inline constexpr double kImageMargin = 0.97;
inline constexpr double kMaxImageTimedRunMs = 600;

// EngineOptions::image_steps: kAuto times the cuts as above; kOff runs every step on the whole
// batch; kChosen runs the steps through EngineOptions::image_through one image at a time (an
// engine file holds the choice made at its build).
enum class ImageSteps { kAuto, kOff, kChosen };

// "auto", "off", "chosen".
const char* image_steps_name(ImageSteps s);
// The inverse; an error naming the value and the choices otherwise.
Result<ImageSteps> parse_image_steps(const std::string& s);
// What a user may ask for (CLI --image-steps, the public EngineOptions): "auto" or "off".
Result<ImageSteps> parse_image_steps_request(const std::string& s);

struct ImageChoice {
    ImageSteps resolved = ImageSteps::kOff;  // kChosen once a cut is kept; kAuto while the batch is unknown
    std::string through;                     // kChosen: node name of the last step run one image at a time
    std::string note;                        // what was chosen and why, for build / bench / explain
};

// Applies `requested` to `plan` and says what holds: kOff runs every step on the whole batch;
// kChosen runs the steps through the node named `through` one image at a time (an unknown name is
// an error naming it); kAuto times the plan as above.
Result<ImageChoice> resolve_image_steps(runtime::Plan& plan, ImageSteps requested, const std::string& through);

}  // namespace qat::engine
