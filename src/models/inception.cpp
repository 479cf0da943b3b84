// Inception (Szegedy et al. 2014, with BN as in Ioffe & Szegedy 2015).
//
// Module (c1, c3r, c3, c5r, c5, cp): four parallel branches on the same input, joined by Concat
// on channels: 1x1 (c1); 1x1 (c3r) -> 3x3 (c3); 1x1 (c5r) -> 5x5 (c5) (small: two 3x3, the
// Inception-v3 factorisation); MaxPool 3x3/1 -> 1x1 (cp). Every conv is conv-BN-ReLU.
// small (28x28): 3x3 stem of 32, module A (64 ch), MaxPool/2, module B (128), MaxPool/2, module C
// (176): 28 -> 14 -> 7.
// full (224x224): GoogLeNet: 7x7/2 stem, 1x1 + 3x3 convs, modules 3a-5b with MaxPool between
// (pad 1 instead of ceil mode: same sizes, 112 -> 56 -> 28 -> 14 -> 7).
#include "models/zoo.h"
#include "models/zoo_net.h"

namespace qat::models {

namespace {

using detail::Act;
using detail::ZooNet;

struct Module {
    const char* name;
    int64_t c1, c3r, c3, c5r, c5, cp;
};

const Module kSmall[] = {
    {"mixed_a", 16, 16, 24, 8, 12, 12}, {"mixed_b", 32, 32, 48, 16, 24, 24}, {"mixed_c", 48, 48, 64, 16, 32, 32}};
const Module kFull[] = {{"inception3a", 64, 96, 128, 16, 32, 32},     {"inception3b", 128, 128, 192, 32, 96, 64},
                        {"inception4a", 192, 96, 208, 16, 48, 64},    {"inception4b", 160, 112, 224, 24, 64, 64},
                        {"inception4c", 128, 128, 256, 24, 64, 64},   {"inception4d", 112, 144, 288, 32, 64, 64},
                        {"inception4e", 256, 160, 320, 32, 128, 128}, {"inception5a", 256, 160, 320, 32, 128, 128},
                        {"inception5b", 384, 192, 384, 48, 128, 128}};

ir::Value* inception_module(ZooNet& net, ir::Value* x, const Module& m, bool double3x3) {
    std::string p = m.name;
    ir::Value* b1 = net.conv_bn(x, net.ch(m.c1), 1, 1, p + ".branch1", Act::kRelu);
    ir::Value* b2 = net.conv_bn(x, net.ch(m.c3r), 1, 1, p + ".branch2.reduce", Act::kRelu);
    b2 = net.conv_bn(b2, net.ch(m.c3), 3, 1, p + ".branch2.3x3", Act::kRelu);
    ir::Value* b3 = net.conv_bn(x, net.ch(m.c5r), 1, 1, p + ".branch3.reduce", Act::kRelu);
    if (double3x3) {
        b3 = net.conv_bn(b3, net.ch(m.c5), 3, 1, p + ".branch3.3x3a", Act::kRelu);
        b3 = net.conv_bn(b3, net.ch(m.c5), 3, 1, p + ".branch3.3x3b", Act::kRelu);
    } else {
        b3 = net.conv_bn(b3, net.ch(m.c5), 5, 1, p + ".branch3.5x5", Act::kRelu);
    }
    ir::Value* b4 = net.b().max_pool(x, {.kernel = 3, .stride = 1, .pad = 1}, p + ".branch4.pool");
    b4 = net.conv_bn(b4, net.ch(m.cp), 1, 1, p + ".branch4.proj", Act::kRelu);
    return net.b().concat({b1, b2, b3, b4}, 1, p + ".concat");
}

}  // namespace

Result<std::unique_ptr<ir::Graph>> inception(const ZooOptions& o) {
    QAT_RETURN_IF_ERROR(detail::validate_options("inception", o));
    ZooNet net("inception", o);
    ir::Builder& b = net.b();
    ir::Value* x = net.input();
    if (net.full()) {
        x = net.conv_bn(x, net.ch(64), 7, 2, "stem.conv1", Act::kRelu);
        x = b.max_pool(x, {.kernel = 3, .stride = 2, .pad = 1}, "stem.pool1");
        x = net.conv_bn(x, net.ch(64), 1, 1, "stem.conv2", Act::kRelu);
        x = net.conv_bn(x, net.ch(192), 3, 1, "stem.conv3", Act::kRelu);
        x = b.max_pool(x, {.kernel = 3, .stride = 2, .pad = 1}, "stem.pool2");
        for (size_t i = 0; i < std::size(kFull); ++i) {
            x = inception_module(net, x, kFull[i], /*double3x3=*/false);
            // MaxPool after 3b and 4e.
            if (i == 1 || i == 6)
                x = b.max_pool(x, {.kernel = 3, .stride = 2, .pad = 1}, std::string(kFull[i].name) + ".pool");
        }
    } else {
        x = net.conv_bn(x, net.ch(32), 3, 1, "stem", Act::kRelu);
        for (size_t i = 0; i < std::size(kSmall); ++i) {
            x = inception_module(net, x, kSmall[i], /*double3x3=*/true);
            if (i + 1 < std::size(kSmall))
                x = b.max_pool(x, {.kernel = 2, .stride = 2}, std::string(kSmall[i].name) + ".pool");
        }
    }
    return net.finish(x);
}

}  // namespace qat::models
