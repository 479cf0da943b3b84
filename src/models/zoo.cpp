#include "models/zoo.h"

#include <cmath>
#include <cstdio>
#include <functional>
#include <sstream>

#include "ir/verify.h"
#include "models/zoo_net.h"

namespace qat::models {

namespace detail {

ZooNet::ZooNet(const std::string& name, const ZooOptions& options)
    : name_(name),
      options_(options),
      graph_(std::make_unique<ir::Graph>()),
      builder_(*graph_, ir::BuilderOptions{.seed = options.seed, .random_bn_stats = options.random_bn_stats}) {
    full_ = resolve_variant(options) == ZooVariant::kFull;
    input_ = builder_.input("input", DataType::kFloat32,
                            Shape{Dim::symbolic("N"), options.channels, options.height, options.width});
}

int64_t ZooNet::ch(double c) const {
    const int64_t divisor = 4;
    double v = c * options_.width_mult;
    int64_t r = std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
    if (static_cast<double>(r) < 0.9 * v) r += divisor;
    return r;
}

int64_t ZooNet::channels_of(const ir::Value* v) {
    if (!v || !v->shape().rank_known() || v->shape().rank() < 2 || !v->shape()[1].is_static()) return -1;
    return v->shape()[1].value;
}

ir::Value* ZooNet::act(ir::Value* x, Act a, const std::string& name) {
    switch (a) {
        case Act::kNone:
            return x;
        case Act::kRelu:
            return builder_.relu(x, name + ".relu");
        case Act::kRelu6:
            return builder_.relu6(x, name + ".relu6");
        case Act::kSwish:
            return builder_.swish(x, name + ".swish");
    }
    return x;
}

ir::Value* ZooNet::conv_bn(ir::Value* x, int64_t out, int64_t kernel, int64_t stride, const std::string& p, Act a,
                           int64_t groups) {
    ir::Value* y = builder_.conv(
        x, {.out_channels = out, .kernel = kernel, .stride = stride, .pad = -1, .groups = groups, .bias = false},
        p + ".conv");
    y = builder_.batch_norm(y, p + ".bn");
    return act(y, a, p);
}

Result<std::unique_ptr<ir::Graph>> ZooNet::finish(ir::Value* features) {
    ir::Value* pooled = builder_.global_avg_pool(features, "gap");
    ir::Value* flat = builder_.flatten(pooled, 1, "flatten");
    ir::Value* logits = builder_.with_output_name("logits").gemm(flat, options_.classes, "fc");
    builder_.output(logits);
    QAT_RETURN_IF_ERROR(Status(builder_.status()).with_context("while building zoo model " + name_));
    ir::ModelInfo& info = graph_->info();
    info.graph_name = name_;
    info.producer_name = "qat";
    info.ir_version = 8;
    std::ostringstream doc;
    doc << "qat zoo " << name_ << " (" << (full_ ? "full" : "small") << "): input " << options_.channels << "x"
        << options_.height << "x" << options_.width << ", " << options_.classes << " classes, width_mult "
        << options_.width_mult << ", seed " << options_.seed;
    info.doc_string = doc.str();
    info.set_metadata("qat.zoo.model", name_);
    info.set_metadata("qat.zoo.variant", full_ ? "full" : "small");
    info.set_metadata("qat.zoo.input", std::to_string(options_.channels) + "x" + std::to_string(options_.height) + "x" +
                                           std::to_string(options_.width));
    info.set_metadata("qat.zoo.classes", std::to_string(options_.classes));
    {
        std::ostringstream wm;
        wm << options_.width_mult;
        info.set_metadata("qat.zoo.width_mult", wm.str());
    }
    info.set_metadata("qat.zoo.seed", std::to_string(options_.seed));
    QAT_RETURN_IF_ERROR(ir::verify(*graph_).with_context("while building zoo model " + name_));
    return std::move(graph_);
}

Status validate_options(const std::string& name, const ZooOptions& o) {
    QAT_CHECK(o.channels >= 1 && o.channels <= 4096, "input channels must be in [1, 4096], got ", o.channels);
    QAT_CHECK(o.height <= 8192 && o.width <= 8192, "input size ", o.height, "x", o.width, " is too large (max 8192)");
    const int64_t min_size = resolve_variant(o) == ZooVariant::kFull ? 32 : 8;
    QAT_CHECK(o.height >= min_size && o.width >= min_size, "input size ", o.height, "x", o.width, " is too small for ",
              name, " (", resolve_variant(o) == ZooVariant::kFull ? "full" : "small", " variant needs at least ",
              min_size, "x", min_size, ")");
    QAT_CHECK(o.classes >= 1 && o.classes <= 100000, "classes must be in [1, 100000], got ", o.classes);
    QAT_CHECK(std::isfinite(o.width_mult) && o.width_mult > 0 && o.width_mult <= 8,
              "width multiplier must be in (0, 8], got ", o.width_mult);
    return OkStatus();
}

}  // namespace detail

namespace {

struct ZooEntry {
    const char* name;
    const char* description;
    Result<std::unique_ptr<ir::Graph>> (*build)(const ZooOptions&);
};

const ZooEntry kZoo[] = {
    {"resnet_v1", "ResNet v1: small = ResNet-20 (basic blocks 16/32/64), full = ResNet-50 (bottlenecks)", resnet_v1},
    {"resnet_v2", "ResNet v2 (pre-activation BN-ReLU-Conv): small = pre-act ResNet-20, full = ResNet-50 v2", resnet_v2},
    {"mobilenet_v2", "MobileNetV2: inverted residuals, depthwise 3x3, ReLU6, linear bottlenecks", mobilenet_v2},
    {"efficientnet_b0", "EfficientNet-B0: MBConv with squeeze-excite and Swish; small = 4-stage version",
     efficientnet_b0},
    {"inception", "Inception: 1x1 / 3x3 / 5x5 (small: double 3x3) / MaxPool branches joined by Concat", inception},
};

}  // namespace

std::vector<std::string> zoo_names() {
    std::vector<std::string> out;
    for (const auto& e : kZoo) out.push_back(e.name);
    return out;
}

std::string zoo_description(const std::string& name) {
    for (const auto& e : kZoo)
        if (name == e.name) return e.description;
    return "";
}

ZooVariant resolve_variant(const ZooOptions& o) {
    if (o.variant != ZooVariant::kAuto) return o.variant;
    return std::min(o.height, o.width) >= 112 ? ZooVariant::kFull : ZooVariant::kSmall;
}

Status parse_input_chw(const std::string& text, ZooOptions* options) {
    int64_t d[3] = {0, 0, 0};
    size_t pos = 0;
    for (int i = 0; i < 3; ++i) {
        size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
        if (pos == start || pos - start > 6)
            return invalid_argument("--input: expected CxHxW with positive integers (e.g. 1x28x28), got '", text, "'");
        d[i] = std::stoll(text.substr(start, pos - start));
        if (i < 2) {
            if (pos >= text.size() || (text[pos] != 'x' && text[pos] != 'X'))
                return invalid_argument("--input: expected CxHxW with positive integers (e.g. 1x28x28), got '", text,
                                        "'");
            ++pos;
        }
    }
    if (pos != text.size())
        return invalid_argument("--input: expected CxHxW with positive integers (e.g. 1x28x28), got '", text, "'");
    options->channels = d[0];
    options->height = d[1];
    options->width = d[2];
    return OkStatus();
}

int64_t count_parameters(const ir::Graph& g) {
    int64_t n = 0;
    for (const ir::Value* v : g.initializers())
        if (is_float(v->dtype()) && v->constant().rank() > 0) n += v->constant().numel();
    return n;
}

Result<std::unique_ptr<ir::Graph>> build_zoo_model(const std::string& name, const ZooOptions& o) {
    const ZooEntry* entry = nullptr;
    for (const auto& e : kZoo)
        if (name == e.name) entry = &e;
    if (!entry) {
        std::string known;
        for (const auto& e : kZoo) known += std::string(known.empty() ? "" : ", ") + e.name;
        return not_found("unknown zoo model '", name, "' (known: ", known, ")");
    }
    return entry->build(o);
}

}  // namespace qat::models
