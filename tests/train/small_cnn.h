// A small CNN for Fashion-MNIST that trains in seconds on two cores: Conv(8)-BN-ReLU-MaxPool,
// Conv(16)-BN-ReLU-MaxPool, Flatten, Gemm(10). Input "input" [N,1,28,28], output "logits".
#pragma once

#include <memory>

#include "ir/builder.h"
#include "ir/graph.h"

namespace qat::train_test {

inline std::unique_ptr<ir::Graph> small_cnn(uint64_t seed = 1, int64_t classes = 10, int64_t hw = 28) {
    auto g = std::make_unique<ir::Graph>();
    g->info().set_opset("", 13);
    g->info().ir_version = 8;
    ir::Builder b(*g, seed);
    ir::Value* x = b.input("input", DataType::kFloat32, Shape{Dim::symbolic("N"), 1, hw, hw});
    x = b.conv(x, {.out_channels = 8, .kernel = 3, .bias = false}, "conv1");
    x = b.relu(b.batch_norm(x, "bn1"), "relu1");
    x = b.max_pool(x, {.kernel = 2}, "pool1");
    x = b.conv(x, {.out_channels = 16, .kernel = 3, .bias = false}, "conv2");
    x = b.relu(b.batch_norm(x, "bn2"), "relu2");
    x = b.max_pool(x, {.kernel = 2}, "pool2");
    x = b.flatten(x, 1, "flatten");
    b.output(b.with_output_name("logits").gemm(x, classes, "fc"));
    return b.status().ok() ? std::move(g) : nullptr;
}

}  // namespace qat::train_test
