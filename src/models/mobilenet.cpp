// MobileNetV2 (Sandler et al. 2018): inverted residual blocks.
//
// Block (t, c, s): 1x1 expand to t*in (skipped when t == 1) -BN-ReLU6, depthwise 3x3 stride s
// -BN-ReLU6, 1x1 project to c -BN with no activation (linear bottleneck), residual Add when
// s == 1 and in == c.
// small (28x28): 3x3/1 stem of 16, stages (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,2,2), 1x1 head
// of 256: 28 -> 14 -> 7 -> 4.
// full (224x224): the paper's table 2: 3x3/2 stem of 32, seven stages, 1x1 head of 1280.
#include "models/zoo.h"
#include "models/zoo_net.h"

namespace qat::models {

namespace {

using detail::Act;
using detail::ZooNet;

struct Setting {
    int64_t t, c;
    int n;
    int64_t s;
};

const Setting kSmall[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 2, 2}};
const Setting kFull[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                         {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};

ir::Value* inverted_residual(ZooNet& net, ir::Value* x, int64_t t, int64_t out, int64_t stride, const std::string& p) {
    int64_t in = ZooNet::channels_of(x);
    int64_t hidden = in * t;
    ir::Value* y = x;
    if (t != 1) y = net.conv_bn(y, hidden, 1, 1, p + ".expand", Act::kRelu6);
    y = net.conv_bn(y, hidden, 3, stride, p + ".dw", Act::kRelu6, /*groups=*/hidden);
    y = net.conv_bn(y, out, 1, 1, p + ".project", Act::kNone);
    if (stride == 1 && in == out) y = net.b().add(y, x, p + ".add");
    return y;
}

}  // namespace

Result<std::unique_ptr<ir::Graph>> mobilenet_v2(const ZooOptions& o) {
    QAT_RETURN_IF_ERROR(detail::validate_options("mobilenet_v2", o));
    ZooNet net("mobilenet_v2", o);
    const bool full = net.full();
    ir::Value* x = net.conv_bn(net.input(), net.ch(full ? 32 : 16), 3, full ? 2 : 1, "stem", Act::kRelu6);
    const Setting* settings = full ? kFull : kSmall;
    size_t count = full ? std::size(kFull) : std::size(kSmall);
    for (size_t s = 0; s < count; ++s)
        for (int i = 0; i < settings[s].n; ++i)
            x = inverted_residual(net, x, settings[s].t, net.ch(settings[s].c), i == 0 ? settings[s].s : 1,
                                  "features" + std::to_string(s + 1) + "." + std::to_string(i));
    // The head keeps its width when width_mult < 1 (as in the paper).
    int64_t head = full ? 1280 : 256;
    if (o.width_mult > 1.0) head = net.ch(head);
    x = net.conv_bn(x, head, 1, 1, "head", Act::kRelu6);
    return net.finish(x);
}

}  // namespace qat::models
