// EfficientNet-B0 (Tan & Le 2019): MBConv blocks with squeeze-excite and Swish.
//
// MBConv (e, k, s, c): 1x1 expand to e*in (skipped when e == 1) -BN-Swish, depthwise kxk
// stride s -BN-Swish, squeeze-excite (GlobalAveragePool -> 1x1 conv to in/4 -> Swish -> 1x1 conv
// back -> Sigmoid -> Mul with the features), 1x1 project to c -BN (linear), residual Add when
// s == 1 and in == c. Swish is x * sigmoid(x) as Sigmoid + Mul: the form ONNX exporters emit and
// the pattern the quantizer has to handle (the SE Mul and the Swish Mul are both in the graph).
// small (28x28): 3x3/1 stem of 16, stages (1,3,1,16,1) (6,3,2,24,2) (6,5,2,40,2) (6,3,2,80,2),
// 1x1 head of 256: 28 -> 14 -> 7 -> 4.
// full (224x224): B0's seven stages, 3x3/2 stem of 32, 1x1 head of 1280.
#include <algorithm>

#include "models/zoo.h"
#include "models/zoo_net.h"

namespace qat::models {

namespace {

using detail::Act;
using detail::ZooNet;

struct Setting {
    int64_t e, k, s, c;
    int n;
};

const Setting kSmall[] = {{1, 3, 1, 16, 1}, {6, 3, 2, 24, 2}, {6, 5, 2, 40, 2}, {6, 3, 2, 80, 2}};
const Setting kFull[] = {{1, 3, 1, 16, 1},  {6, 3, 2, 24, 2},  {6, 5, 2, 40, 2}, {6, 3, 2, 80, 3},
                         {6, 5, 1, 112, 3}, {6, 5, 2, 192, 4}, {6, 3, 1, 320, 1}};

ir::Value* squeeze_excite(ZooNet& net, ir::Value* x, int64_t reduced, const std::string& p) {
    int64_t c = ZooNet::channels_of(x);
    ir::Builder& b = net.b();
    ir::Value* s = b.global_avg_pool(x, p + ".pool");
    s = b.conv(s, {.out_channels = reduced, .kernel = 1, .bias = true}, p + ".reduce");
    s = b.swish(s, p + ".swish");
    s = b.conv(s, {.out_channels = c, .kernel = 1, .bias = true}, p + ".expand");
    s = b.sigmoid(s, p + ".gate");
    return b.mul(x, s, p + ".scale");
}

ir::Value* mbconv(ZooNet& net, ir::Value* x, const Setting& st, int64_t out, int64_t stride, const std::string& p) {
    int64_t in = ZooNet::channels_of(x);
    int64_t hidden = in * st.e;
    ir::Value* y = x;
    if (st.e != 1) y = net.conv_bn(y, hidden, 1, 1, p + ".expand", Act::kSwish);
    y = net.conv_bn(y, hidden, st.k, stride, p + ".dw", Act::kSwish, /*groups=*/hidden);
    y = squeeze_excite(net, y, std::max<int64_t>(1, in / 4), p + ".se");
    y = net.conv_bn(y, out, 1, 1, p + ".project", Act::kNone);
    if (stride == 1 && in == out) y = net.b().add(y, x, p + ".add");
    return y;
}

}  // namespace

Result<std::unique_ptr<ir::Graph>> efficientnet_b0(const ZooOptions& o) {
    QAT_RETURN_IF_ERROR(detail::validate_options("efficientnet_b0", o));
    ZooNet net("efficientnet_b0", o);
    const bool full = net.full();
    ir::Value* x = net.conv_bn(net.input(), net.ch(full ? 32 : 16), 3, full ? 2 : 1, "stem", Act::kSwish);
    const Setting* settings = full ? kFull : kSmall;
    size_t count = full ? std::size(kFull) : std::size(kSmall);
    for (size_t s = 0; s < count; ++s)
        for (int i = 0; i < settings[s].n; ++i)
            x = mbconv(net, x, settings[s], net.ch(settings[s].c), i == 0 ? settings[s].s : 1,
                       "blocks" + std::to_string(s + 1) + "." + std::to_string(i));
    x = net.conv_bn(x, net.ch(full ? 1280 : 256), 1, 1, "head", Act::kSwish);
    return net.finish(x);
}

}  // namespace qat::models
