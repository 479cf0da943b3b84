// The model zoo: image classifiers built on ir::Builder, in two sizes.
//
// Each family comes as a small variant for 28x28-ish inputs (Fashion-MNIST: trains in minutes on
// two cores, <= 2 MB as ONNX) and as its ImageNet-shaped original for 224x224 (latency tables):
//
//   resnet_v1        small: ResNet-20 (3 stages x 3 basic blocks, 16/32/64 ch, ~0.27M params)
//                    full:  ResNet-50 (bottleneck blocks [3,4,6,3], stride on the 3x3 conv)
//   resnet_v2        pre-activation (BN-ReLU-Conv; the next block's BN reads the Add):
//                    small: pre-act ResNet-20; full: ResNet-50 v2
//   mobilenet_v2     inverted residuals (1x1 expand, depthwise 3x3, ReLU6, linear 1x1 bottleneck)
//   efficientnet_b0  MBConv (expand, depthwise kxk, squeeze-excite GAP -> 1x1 -> Swish -> 1x1 ->
//                    Sigmoid -> Mul, project, residual Add); Swish = Sigmoid + Mul
//   inception        modules of parallel 1x1 / 1x1-3x3 / 5x5 (small: double 3x3) / MaxPool-1x1
//                    branches joined by Concat; full: GoogLeNet with BN
//
// Common shape: NCHW input "input" [N, C, H, W] with symbolic batch "N", output "logits"
// [N, classes]; BatchNormalization after convolutions (not folded, so training sees it); weights
// He-normal from the seed (same seed, same model bit for bit); opset 13, IR 8.
//
//   models::ZooOptions o;            // 1x28x28, 10 classes
//   o.width_mult = 0.5;
//   QAT_ASSIGN_OR_RETURN(auto graph, models::build_zoo_model("resnet_v1", o));
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"

namespace qat::models {

enum class ZooVariant {
    kAuto,   // kFull when min(height, width) >= 112, else kSmall
    kSmall,  // 28x28-style (CIFAR-style stems without early downsampling)
    kFull,   // ImageNet layout (strided stems, full depth)
};

struct ZooOptions {
    int64_t channels = 1;
    int64_t height = 28;
    int64_t width = 28;
    int64_t classes = 10;
    double width_mult = 1.0;  // scales every channel count (rounded to a multiple of 4)
    uint64_t seed = 0;
    ZooVariant variant = ZooVariant::kAuto;
    // Random BatchNormalization statistics instead of the identity init (numerical tests).
    bool random_bn_stats = false;
};

// Names accepted by build_zoo_model, in a stable order.
std::vector<std::string> zoo_names();
// One line describing the model (for `qat zoo --list`); empty for an unknown name.
std::string zoo_description(const std::string& name);

// Builds a model; the graph passes ir::verify(). Errors name the bad option (kInvalidArgument)
// or the unknown model (kNotFound, listing the known ones).
Result<std::unique_ptr<ir::Graph>> build_zoo_model(const std::string& name, const ZooOptions& options);

// The variant `options` resolves to (kAuto decided by the input size).
ZooVariant resolve_variant(const ZooOptions& options);

// Parses "CxHxW" (e.g. "3x224x224") into options->channels/height/width.
Status parse_input_chw(const std::string& text, ZooOptions* options);

// Parameter count: elements of the float initializers that are not scalars (Clip bounds are
// not parameters; BatchNormalization running statistics are counted).
int64_t count_parameters(const ir::Graph& g);

// The families, also callable directly.
Result<std::unique_ptr<ir::Graph>> resnet_v1(const ZooOptions& options);
Result<std::unique_ptr<ir::Graph>> resnet_v2(const ZooOptions& options);
Result<std::unique_ptr<ir::Graph>> mobilenet_v2(const ZooOptions& options);
Result<std::unique_ptr<ir::Graph>> efficientnet_b0(const ZooOptions& options);
Result<std::unique_ptr<ir::Graph>> inception(const ZooOptions& options);

}  // namespace qat::models
