// How an ir::Graph becomes a trainable libtorch module: fake-quantization range modes and the
// per-quantizer switches (plain C++: the CLI and tests include it without libtorch).
//
// Every QuantizeLinear -> DequantizeLinear pair of the graph becomes one fake-quantization module
// (pytorch-quantization's TensorQuantizer). Activations are quantized per tensor to [-128, 127],
// weights per channel (the DQ's axis) to the narrow range [-127, 127]; symmetric (zero point 0),
// round half to even, straight-through gradient inside the clip range and zero outside. How a
// quantizer's range moves during training is its RangeMode:
//
//   last-batch  each training step's |x| max becomes the range (the reference toolkit)
//   ema         moving average of the per-step max: amax += momentum * (batch_max - amax)
//   fixed       the range stays what calibration put in the model (default for calibrated models)
//   learned     the scale is a trainable parameter (LSQ, libtorch's learnable fake-quant ops)
//
// Weight quantizers follow the weights every step (per-channel max of the current weights) unless
// they are `learned`. Each quantizer also has a state: quantize (normal), calibrate (observe the
// running max, pass x through unchanged) or disabled (pass through).
//
//   train::ModuleOptions m;
//   m.activation_mode = train::RangeMode::kEma;
//   m.overrides.push_back({"*fc*", train::QuantizerSetting::kLearned});   // glob on Q node or tensor
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace qat::train {

enum class RangeMode { kLastBatch, kEma, kFixed, kLearned };
const char* range_mode_name(RangeMode m);  // "last-batch" | "ema" | "fixed" | "learned"
Result<RangeMode> parse_range_mode(const std::string& s);

enum class QuantizerState { kQuantize, kCalibrate, kDisabled };
const char* quantizer_state_name(QuantizerState s);

// A per-quantizer override: a range mode or "disabled".
struct QuantizerOverride {
    std::string pattern;  // glob over the QuantizeLinear node name or the quantized tensor name
    std::optional<RangeMode> mode;
    bool disabled = false;
};
// "PATTERN=MODE" with MODE one of the range modes or "disabled".
Result<QuantizerOverride> parse_quantizer_override(const std::string& s);

struct ModuleOptions {
    // false: every Q/DQ pair passes its input through (the FP32 view of a Q/DQ graph).
    bool fake_quant = true;
    // Range mode of activation quantizers; unset: fixed for a calibrated model, ema otherwise.
    std::optional<RangeMode> activation_mode;
    // Weight quantizers follow the weights unless this is true (then: learned scales).
    bool learned_weights = false;
    std::vector<QuantizerOverride> overrides;
    float ema_momentum = 0.01f;
    // Seed of the dropout masks (a training forward also takes a step number, see GraphModule).
    uint64_t seed = 0;
};

}  // namespace qat::train
