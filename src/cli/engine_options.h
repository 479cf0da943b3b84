// The engine option group shared by `qat build`, `qat eval` and `qat explain` (and open to
// `qat run` / `qat bench`): --backend, --threads, --batch, mapped onto engine::EngineOptions.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "backends/registry.h"
#include "core/status.h"
#include "engine/engine.h"

namespace qat::cli {

struct EngineFlags {
    std::vector<std::string> backends;
    int threads = 0;
    int64_t batch = 0;
    bool no_int8 = false;
    std::string fp32_layout = "auto";
    std::string step_threads = "auto";
    std::string image_steps = "auto";
};

inline void add_engine_flags(CLI::App* sub, EngineFlags* f, bool with_batch, const std::string& batch_help = "") {
    std::string avail;
    for (const auto& b : backends::available_backends()) avail += (avail.empty() ? "" : ", ") + b;
    sub->add_option("--backend", f->backends,
                    "Backend(s) the plan may use, comma separated (available: " + avail +
                        "; default: all, fastest first, ref as the fallback)")
        ->delimiter(',')
        ->group("Engine");
    sub->add_option("--threads", f->threads, "Kernel threads (0: all cores)")
        ->check(CLI::NonNegativeNumber)
        ->group("Engine");
    if (with_batch)
        sub->add_option("--batch", f->batch,
                        batch_help.empty() ? "Fix the batch dim to N at build time (0: dynamic)" : batch_help)
            ->check(CLI::NonNegativeNumber)
            ->group("Engine");
    sub->add_flag("--no-int8", f->no_int8, "Do not lower Q/DQ groups to INT8 ops (FP32 clean-ups only)")
        ->group("Engine");
    sub->add_option("--fp32-layout", f->fp32_layout,
                    "Layout of the FP32 convolutions on oneDNN: auto (time both at build when the batch is fixed), "
                    "backend (oneDNN's choice: channels-last on AVX-512) or blocked (nChw16c); an engine file "
                    "keeps its own unless this is given")
        ->group("Engine");
    sub->add_option("--step-threads", f->step_threads,
                    "Steps on one thread: auto (time at build, when the batch is fixed, which small steps run faster "
                    "on one thread than on --threads) or all (every step on --threads); an engine file keeps its "
                    "own choice unless `all` is given")
        ->group("Engine");
    sub->add_option("--image-steps", f->image_steps,
                    "Early steps one image at a time on a batch: auto (time at build, when the batch is fixed, "
                    "whether the high-resolution steps run faster one image at a time, their activations then "
                    "staying in the caches) or off (every step on the whole batch); an engine file keeps its own "
                    "choice unless `off` is given")
        ->group("Engine");
}

inline Status check_engine_flags(const EngineFlags& f) {
    for (const auto& b : f.backends)
        if (!backends::is_available(b)) {
            std::string avail;
            for (const auto& a : backends::available_backends()) avail += (avail.empty() ? "" : ", ") + a;
            return invalid_argument("--backend '", b, "' is not available in this build (available: ", avail, ")");
        }
    if (auto l = engine::parse_fp32_layout(f.fp32_layout); !l.ok())
        return invalid_argument("--fp32-layout: ", l.status().message());
    if (auto s = engine::parse_step_threads_request(f.step_threads); !s.ok())
        return invalid_argument("--step-threads: ", s.status().message());
    if (auto s = engine::parse_image_steps_request(f.image_steps); !s.ok())
        return invalid_argument("--image-steps: ", s.status().message());
    return OkStatus();
}

inline engine::EngineOptions to_engine_options(const EngineFlags& f) {
    engine::EngineOptions o;
    o.backends = f.backends;
    o.threads = f.threads;
    o.batch = f.batch;
    o.fuse_int8 = !f.no_int8;
    o.fp32_layout = engine::parse_fp32_layout(f.fp32_layout).value_or(engine::Fp32Layout::kAuto);
    o.step_threads = engine::parse_step_threads_request(f.step_threads).value_or(engine::StepThreads::kAuto);
    o.image_steps = engine::parse_image_steps_request(f.image_steps).value_or(engine::ImageSteps::kAuto);
    return o;
}

}  // namespace qat::cli
