// ResNet v1 (He et al. 2015) and v2 (pre-activation, He et al. 2016).
//
// small (28x28-style): CIFAR ResNet-20 layout: 3x3 stem, 3 stages of 3 basic blocks with
// 16/32/64 channels, stride 2 at the start of stages 2 and 3, 1x1 conv + BN projection where
// the shape changes.
// full (224x224): ResNet-50: 7x7/2 stem + 3x3/2 MaxPool, bottleneck stages [3,4,6,3] with
// widths 64/128/256/512 (x4 expansion), stride on the 3x3 conv (torchvision's "v1.5").
#include "models/zoo.h"
#include "models/zoo_net.h"

namespace qat::models {

namespace {

using detail::Act;
using detail::ZooNet;

struct Stage {
    int64_t width;
    int blocks;
    int64_t stride;
};

const Stage kSmallStages[] = {{16, 3, 1}, {32, 3, 2}, {64, 3, 2}};
const Stage kFullStages[] = {{64, 3, 1}, {128, 4, 2}, {256, 6, 2}, {512, 3, 2}};
constexpr int64_t kExpansion = 4;

std::string block_name(size_t stage, int block) {
    return "layer" + std::to_string(stage + 1) + "." + std::to_string(block);
}

// v1 basic block: conv3x3(s)-BN-ReLU-conv3x3-BN (+ shortcut) -> ReLU.
ir::Value* basic_v1(ZooNet& net, ir::Value* x, int64_t out, int64_t stride, const std::string& p) {
    ir::Value* r = net.conv_bn(x, out, 3, stride, p + ".1", Act::kRelu);
    r = net.conv_bn(r, out, 3, 1, p + ".2", Act::kNone);
    ir::Value* sc = x;
    if (stride != 1 || ZooNet::channels_of(x) != out)
        sc = net.conv_bn(x, out, 1, stride, p + ".downsample", Act::kNone);
    return net.b().relu(net.b().add(r, sc, p + ".add"), p + ".relu");
}

// v1 bottleneck: 1x1-BN-ReLU, 3x3(s)-BN-ReLU, 1x1(x4)-BN (+ shortcut) -> ReLU.
ir::Value* bottleneck_v1(ZooNet& net, ir::Value* x, int64_t width, int64_t stride, const std::string& p) {
    int64_t out = width * kExpansion;
    ir::Value* r = net.conv_bn(x, width, 1, 1, p + ".1", Act::kRelu);
    r = net.conv_bn(r, width, 3, stride, p + ".2", Act::kRelu);
    r = net.conv_bn(r, out, 1, 1, p + ".3", Act::kNone);
    ir::Value* sc = x;
    if (stride != 1 || ZooNet::channels_of(x) != out)
        sc = net.conv_bn(x, out, 1, stride, p + ".downsample", Act::kNone);
    return net.b().relu(net.b().add(r, sc, p + ".add"), p + ".relu");
}

// v2 pre-activation: pre = ReLU(BN(x)); r = conv(pre) ...; out = r + (x or proj(pre)).
// The BN that opens a block reads the previous block's Add.
ir::Value* preact(ZooNet& net, ir::Value* x, const std::string& p) {
    return net.b().relu(net.b().batch_norm(x, p + ".preact.bn"), p + ".preact.relu");
}

ir::Value* conv_only(ZooNet& net, ir::Value* x, int64_t out, int64_t k, int64_t stride, const std::string& name) {
    return net.b().conv(x, {.out_channels = out, .kernel = k, .stride = stride, .bias = false}, name);
}

ir::Value* basic_v2(ZooNet& net, ir::Value* x, int64_t out, int64_t stride, const std::string& p) {
    ir::Value* pre = preact(net, x, p);
    ir::Value* r = conv_only(net, pre, out, 3, stride, p + ".1.conv");
    r = net.b().relu(net.b().batch_norm(r, p + ".2.bn"), p + ".2.relu");
    r = conv_only(net, r, out, 3, 1, p + ".2.conv");
    ir::Value* sc = x;
    if (stride != 1 || ZooNet::channels_of(x) != out) sc = conv_only(net, pre, out, 1, stride, p + ".downsample.conv");
    return net.b().add(r, sc, p + ".add");
}

ir::Value* bottleneck_v2(ZooNet& net, ir::Value* x, int64_t width, int64_t stride, const std::string& p) {
    int64_t out = width * kExpansion;
    ir::Value* pre = preact(net, x, p);
    ir::Value* r = conv_only(net, pre, width, 1, 1, p + ".1.conv");
    r = net.b().relu(net.b().batch_norm(r, p + ".2.bn"), p + ".2.relu");
    r = conv_only(net, r, width, 3, stride, p + ".2.conv");
    r = net.b().relu(net.b().batch_norm(r, p + ".3.bn"), p + ".3.relu");
    r = conv_only(net, r, out, 1, 1, p + ".3.conv");
    ir::Value* sc = x;
    if (stride != 1 || ZooNet::channels_of(x) != out) sc = conv_only(net, pre, out, 1, stride, p + ".downsample.conv");
    return net.b().add(r, sc, p + ".add");
}

Result<std::unique_ptr<ir::Graph>> build_resnet(const ZooOptions& o, bool v2) {
    const char* name = v2 ? "resnet_v2" : "resnet_v1";
    QAT_RETURN_IF_ERROR(detail::validate_options(name, o));
    ZooNet net(name, o);
    ir::Value* x = net.input();
    if (net.full()) {
        if (v2) {
            // ResNet-50 v2 stem: conv (with bias, no BN: the first block's pre-activation follows) + MaxPool.
            x = net.b().conv(net.input(), {.out_channels = net.ch(64), .kernel = 7, .stride = 2, .bias = true},
                             "stem.conv");
        } else {
            x = net.conv_bn(x, net.ch(64), 7, 2, "stem", Act::kRelu);
        }
        x = net.b().max_pool(x, {.kernel = 3, .stride = 2, .pad = 1}, "stem.pool");
        for (size_t s = 0; s < std::size(kFullStages); ++s)
            for (int i = 0; i < kFullStages[s].blocks; ++i) {
                int64_t stride = i == 0 ? kFullStages[s].stride : 1;
                int64_t width = net.ch(kFullStages[s].width);
                x = v2 ? bottleneck_v2(net, x, width, stride, block_name(s, i))
                       : bottleneck_v1(net, x, width, stride, block_name(s, i));
            }
    } else {
        x = v2 ? conv_only(net, x, net.ch(16), 3, 1, "stem.conv")
               : net.conv_bn(x, net.ch(16), 3, 1, "stem", Act::kRelu);
        for (size_t s = 0; s < std::size(kSmallStages); ++s)
            for (int i = 0; i < kSmallStages[s].blocks; ++i) {
                int64_t stride = i == 0 ? kSmallStages[s].stride : 1;
                int64_t width = net.ch(kSmallStages[s].width);
                x = v2 ? basic_v2(net, x, width, stride, block_name(s, i))
                       : basic_v1(net, x, width, stride, block_name(s, i));
            }
    }
    // v2 ends with the BN-ReLU that the last block did not apply.
    if (v2) x = net.b().relu(net.b().batch_norm(x, "post.bn"), "post.relu");
    return net.finish(x);
}

}  // namespace

Result<std::unique_ptr<ir::Graph>> resnet_v1(const ZooOptions& options) { return build_resnet(options, false); }
Result<std::unique_ptr<ir::Graph>> resnet_v2(const ZooOptions& options) { return build_resnet(options, true); }

}  // namespace qat::models
