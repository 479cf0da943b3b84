// The FP32 convolution layout of an engine (EngineOptions::fp32_layout), chosen at build time
// the way TensorRT's builder picks tactics: by timing the candidates on this machine.
//
// oneDNN 2.6 on AVX-512 runs FP32 convolutions channels-last (brgconv) when left to choose, or
// blocked nChw16c (its jit kernels) when asked. Neither wins everywhere on the 2-core machine of
// docs/BENCHMARKS.md: blocked is ~10% faster on MobileNetV2 and ~6% on ResNet-50 at batch 16,
// channels-last ~7% faster on MobileNetV2 at batch 1 and 10-20% on EfficientNet-B0 (whose
// squeeze-and-excitation gates and swish depthwise convolutions have channels-last kernels).
// `auto` compiles both plans, runs each on zero inputs in alternating rounds and keeps the faster
// unless the other is within 3% (then the backend's own choice): only when the batch is fixed
// (the choice depends on it) and the FP32 convolutions on oneDNN add up to at least
// kMinTimedMacs multiply-adds; below that the difference is under the timing noise.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "ir/graph.h"
#include "runtime/plan.h"

namespace qat::engine {

enum class Fp32Layout { kAuto, kBackend, kBlocked };

// "auto", "backend", "blocked".
const char* fp32_layout_name(Fp32Layout l);
// The inverse; an error naming the value and the choices otherwise.
Result<Fp32Layout> parse_fp32_layout(const std::string& s);

inline constexpr int64_t kMinTimedMacs = 100'000'000;

// Multiply-adds of the float convolutions (Conv / com.qat FusedConv) the plan runs on oneDNN, from
// the graph's static shapes (a convolution with an unknown shape counts 0).
int64_t fp32_conv_macs(const runtime::Plan& plan);

struct LayoutChoice {
    Fp32Layout layout = Fp32Layout::kBackend;  // never kAuto
    std::string note;                          // what was chosen and why, for build / bench / explain
    std::unique_ptr<runtime::Plan> plan;       // compiled with that layout
};

// Compiles `graph` with `base` and the layout `requested` asks for; kAuto times the candidates as
// described above. Errors are the plan compiler's.
Result<LayoutChoice> compile_with_fp32_layout(const ir::Graph& graph, const runtime::PlanOptions& base,
                                              Fp32Layout requested);

}  // namespace qat::engine
