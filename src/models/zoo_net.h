// Internal helpers shared by the zoo families: channel scaling, conv + BN + activation, and the
// common classifier head. Not a public header.
#pragma once

#include <memory>
#include <string>

#include "ir/builder.h"
#include "models/zoo.h"

namespace qat::models::detail {

// Checks the options every family needs (sizes, classes, width multiplier); errors name the field.
Status validate_options(const std::string& name, const ZooOptions& options);

enum class Act { kNone, kRelu, kRelu6, kSwish };

class ZooNet {
  public:
    ZooNet(const std::string& name, const ZooOptions& options);

    ir::Builder& b() { return builder_; }
    ir::Value* input() const { return input_; }
    bool full() const { return full_; }
    const ZooOptions& options() const { return options_; }

    // `c` scaled by width_mult, rounded to a multiple of 4 (at least 4, and not below 90% of the
    // scaled value: MobileNet's make_divisible rule).
    int64_t ch(double c) const;
    // Channels of a value (static by construction in the zoo).
    static int64_t channels_of(const ir::Value* v);

    // conv (no bias: BN follows) -> BN -> activation, nodes "<p>.conv", "<p>.bn", "<p>.<act>".
    ir::Value* conv_bn(ir::Value* x, int64_t out, int64_t kernel, int64_t stride, const std::string& p, Act act,
                       int64_t groups = 1);
    ir::Value* act(ir::Value* x, Act a, const std::string& name);

    // GAP -> Flatten -> Gemm ("fc") producing "logits" [N, classes]; verifies the graph.
    Result<std::unique_ptr<ir::Graph>> finish(ir::Value* features);

  private:
    std::string name_;
    ZooOptions options_;
    std::unique_ptr<ir::Graph> graph_;
    ir::Builder builder_;
    ir::Value* input_ = nullptr;
    bool full_ = false;
};

}  // namespace qat::models::detail
