#include "ir/fused_ops.h"

#include <algorithm>
#include <cmath>

#include "core/qmath.h"
#include "ir/graph.h"

namespace qat::ir::fused {
namespace {

Status check_scale(const Node& n, const char* attr, float s) {
    if (!std::isfinite(s) || !(s > 0.0f))
        return invalid_model(n.desc(), ": attribute ", attr, " = ", s, " (a scale must be finite and > 0)");
    return OkStatus();
}

// Zero point within the range of `t` when known (int8 or uint8), else within either range.
Status check_zero_point(const Node& n, const char* attr, int64_t zp, DataType t) {
    int32_t lo = -128, hi = 255;
    if (t == DataType::kInt8 || t == DataType::kUint8) {
        lo = qmath::qmin(t);
        hi = qmath::qmax(t);
    }
    if (zp < lo || zp > hi)
        return invalid_model(n.desc(), ": attribute ", attr, " = ", zp, " is outside the ",
                             t == DataType::kUndefined ? "int8/uint8" : dtype_name(t), " range");
    return OkStatus();
}

DataType input_dtype(const Node& n, size_t i) {
    const Value* v = n.input(i);
    return v ? v->dtype() : DataType::kUndefined;
}

Status need_float(const Node& n, const char* name, float* out) {
    const Attribute* a = n.attr(name);
    if (!a || (a->kind != Attribute::Kind::kFloat && a->kind != Attribute::Kind::kInt))
        return invalid_model(n.desc(), ": missing float attribute ", name);
    *out = n.attr_float(name, 0.0f);
    return OkStatus();
}

bool is_weighted(const std::string& op) { return op == kQConv || op == kQConvTranspose || op == kQGemm; }

// Two quantized inputs, a and b.
bool is_binary(const std::string& op) { return op == kQAdd || op == kQMul; }

// The post-op attributes (every fused op) and, with "add", the residual's quantization.
Result<FusedOpInfo> read_post_ops(const Node& n, FusedOpInfo info) {
    const bool binary = is_binary(info.op_type);
    const bool fp32 = is_fp32_fused_op(n);
    if (fp32) {
        for (size_t i = 0; i < n.num_inputs(); ++i)
            if (n.input(i) && n.input(i)->dtype() != DataType::kFloat32 && n.input(i)->dtype() != DataType::kUndefined)
                return invalid_model(n.desc(), ": input ", i, " is ", dtype_name(n.input(i)->dtype()),
                                     ", FusedConv is float32 throughout");
        if (n.has_attr("out_dtype") && n.attr_int("out_dtype", kOnnxFloat) != kOnnxFloat)
            return invalid_model(n.desc(), ": FusedConv has out_dtype ", n.attr_int("out_dtype", 0),
                                 ", only 1 (float) is valid");
        if (const Value* g = n.input(4); g && g->shape().rank_known()) {
            const Shape& s = g->shape();
            bool ok = s.rank() == 4;
            for (size_t d = 2; ok && d < 4; ++d) ok = s[d].is_static() && s[d].value == 1;
            if (!ok)
                return invalid_model(n.desc(), ": gate (input 4) has shape ", s.to_string(),
                                     ", expected [N, C, 1, 1] or [1, C, 1, 1]");
        }
    } else if (n.num_inputs() > 4) {
        return invalid_model(n.desc(), ": has ", n.num_inputs(), " inputs; only FusedConv takes a gate (input 4)");
    }
    int adds = 0;
    const Attribute* post = n.attr("post_ops");
    if (post && post->kind != Attribute::Kind::kStrings)
        return invalid_model(n.desc(), ": attribute post_ops must be a list of strings");
    for (const std::string& s : post ? post->strings : std::vector<std::string>{}) {
        PostOp p;
        if (!parse_post_op(s, &p))
            return invalid_model(n.desc(), ": unknown post-op '", s,
                                 "' (known: add, relu, clip, leaky_relu, hard_swish, sigmoid, swish)");
        if (p == PostOp::kAdd) ++adds;
        info.post_ops.push_back(p);
    }
    if (adds > 1) return invalid_model(n.desc(), ": post_ops has ", adds, " \"add\" entries, at most one allowed");
    if (adds == 1) {
        if (binary || info.op_type == kQAveragePool || info.op_type == kQGlobalAveragePool)
            return invalid_model(n.desc(),
                                 ": post-op \"add\" is only valid on QConv, QConvTranspose, QGemm and FusedConv");
        if (!n.input(3)) return invalid_model(n.desc(), ": post-op \"add\" needs a residual input (input 3)");
        DataType rt = input_dtype(n, 3);
        if (!fp32 && (rt == DataType::kInt8 || rt == DataType::kUint8 || rt == DataType::kUndefined)) {
            if (n.has_attr("residual_scale") || is_quantized_type(rt)) {
                QAT_RETURN_IF_ERROR(need_float(n, "residual_scale", &info.residual_scale));
                QAT_RETURN_IF_ERROR(check_scale(n, "residual_scale", info.residual_scale));
                int64_t rzp = n.attr_int("residual_zero_point", 0);
                QAT_RETURN_IF_ERROR(check_zero_point(n, "residual_zero_point", rzp, rt));
                info.residual_zero_point = static_cast<int32_t>(rzp);
            }
        }
    } else if (n.input(3)) {
        return invalid_model(n.desc(), ": has a residual input but no \"add\" post-op");
    }
    if (std::find(info.post_ops.begin(), info.post_ops.end(), PostOp::kClip) != info.post_ops.end()) {
        QAT_RETURN_IF_ERROR(need_float(n, "clip_min", &info.clip_min));
        QAT_RETURN_IF_ERROR(need_float(n, "clip_max", &info.clip_max));
        if (std::isnan(info.clip_min) || std::isnan(info.clip_max) || info.clip_min > info.clip_max)
            return invalid_model(n.desc(), ": clip range [", info.clip_min, ", ", info.clip_max, "] is empty");
    }
    info.alpha = n.attr_float("alpha", 0.01f);
    return info;
}

}  // namespace

DataType out_dtype_to_data_type(int64_t code) {
    switch (code) {
        case kOnnxFloat:
            return DataType::kFloat32;
        case kOnnxUint8:
            return DataType::kUint8;
        case kOnnxInt8:
            return DataType::kInt8;
        default:
            return DataType::kUndefined;
    }
}

int64_t data_type_to_out_dtype(DataType t) {
    switch (t) {
        case DataType::kFloat32:
            return kOnnxFloat;
        case DataType::kUint8:
            return kOnnxUint8;
        case DataType::kInt8:
            return kOnnxInt8;
        default:
            return -1;
    }
}

bool is_fused_op(const Node& node) {
    if (node.domain() != kDomain) return false;
    const std::string& op = node.op_type();
    return op == kQConv || op == kQConvTranspose || op == kQGemm || op == kQAdd || op == kQMul || op == kQAveragePool ||
           op == kQGlobalAveragePool;
}

bool is_fp32_fused_op(const Node& node) { return node.domain() == kDomain && node.op_type() == kFusedConv; }

const char* post_op_name(PostOp p) {
    switch (p) {
        case PostOp::kAdd:
            return "add";
        case PostOp::kRelu:
            return "relu";
        case PostOp::kClip:
            return "clip";
        case PostOp::kLeakyRelu:
            return "leaky_relu";
        case PostOp::kHardSwish:
            return "hard_swish";
        case PostOp::kSigmoid:
            return "sigmoid";
        case PostOp::kSwish:
            return "swish";
    }
    return "?";
}

bool parse_post_op(const std::string& s, PostOp* out) {
    static const PostOp kAll[] = {PostOp::kAdd,       PostOp::kRelu,    PostOp::kClip, PostOp::kLeakyRelu,
                                  PostOp::kHardSwish, PostOp::kSigmoid, PostOp::kSwish};
    for (PostOp p : kAll)
        if (s == post_op_name(p)) {
            *out = p;
            return true;
        }
    return false;
}

bool FusedOpInfo::has_residual() const {
    return std::find(post_ops.begin(), post_ops.end(), PostOp::kAdd) != post_ops.end();
}

Result<FusedOpInfo> read_fused_op(const Node& n) {
    const bool fp32 = is_fp32_fused_op(n);
    if (!is_fused_op(n) && !fp32) return invalid_model(n.desc(), " is not a com.qat fused op");
    FusedOpInfo info;
    info.op_type = n.op_type();
    const bool binary = is_binary(info.op_type);

    if (fp32) return read_post_ops(n, std::move(info));

    // Input quantization.
    QAT_RETURN_IF_ERROR(need_float(n, binary ? "a_scale" : "x_scale", &info.x_scale));
    QAT_RETURN_IF_ERROR(check_scale(n, binary ? "a_scale" : "x_scale", info.x_scale));
    int64_t xzp = n.attr_int(binary ? "a_zero_point" : "x_zero_point", 0);
    QAT_RETURN_IF_ERROR(check_zero_point(n, binary ? "a_zero_point" : "x_zero_point", xzp, input_dtype(n, 0)));
    info.x_zero_point = static_cast<int32_t>(xzp);
    if (binary) {
        QAT_RETURN_IF_ERROR(need_float(n, "b_scale", &info.b_scale));
        QAT_RETURN_IF_ERROR(check_scale(n, "b_scale", info.b_scale));
        int64_t bzp = n.attr_int("b_zero_point", 0);
        QAT_RETURN_IF_ERROR(check_zero_point(n, "b_zero_point", bzp, input_dtype(n, 1)));
        info.b_zero_point = static_cast<int32_t>(bzp);
    }

    // Weights.
    if (is_weighted(info.op_type)) {
        info.w_scales = n.attr_floats("w_scales");
        if (info.w_scales.empty()) return invalid_model(n.desc(), ": missing attribute w_scales");
        for (float s : info.w_scales) QAT_RETURN_IF_ERROR(check_scale(n, "w_scales", s));
        info.trans_b = n.attr_int("trans_b", 0) != 0;
    }

    // Output.
    int64_t code = n.attr_int("out_dtype", kOnnxFloat);
    info.out_dtype = out_dtype_to_data_type(code);
    if (info.out_dtype == DataType::kUndefined)
        return invalid_model(n.desc(), ": out_dtype ", code, " is not 1 (float), 2 (uint8) or 3 (int8)");
    if (info.quantized_output()) {
        QAT_RETURN_IF_ERROR(need_float(n, "y_scale", &info.y_scale));
        QAT_RETURN_IF_ERROR(check_scale(n, "y_scale", info.y_scale));
        int64_t yzp = n.attr_int("y_zero_point", 0);
        QAT_RETURN_IF_ERROR(check_zero_point(n, "y_zero_point", yzp, info.out_dtype));
        info.y_zero_point = static_cast<int32_t>(yzp);
    }

    return read_post_ops(n, std::move(info));
}

float apply_activation(PostOp p, float v, const FusedOpInfo& info) {
    switch (p) {
        case PostOp::kAdd:
            return v;
        case PostOp::kRelu:
            return v > 0.0f ? v : 0.0f;
        case PostOp::kClip:
            return std::min(std::max(v, info.clip_min), info.clip_max);
        case PostOp::kLeakyRelu:
            return v >= 0.0f ? v : info.alpha * v;
        case PostOp::kHardSwish:
            return v * std::max(0.0f, std::min(1.0f, v / 6.0f + 0.5f));
        case PostOp::kSigmoid:
            return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v))));
        case PostOp::kSwish:
            return static_cast<float>(v / (1.0 + std::exp(-static_cast<double>(v))));
    }
    return v;
}

float apply_post_ops(const FusedOpInfo& info, float v, float residual) {
    for (PostOp p : info.post_ops) v = p == PostOp::kAdd ? v + residual : apply_activation(p, v, info);
    return v;
}

bool gate_fits(const std::vector<int64_t>& x, const std::vector<int64_t>& gate) {
    return x.size() == 4 && gate.size() == 4 && gate[1] == x[1] && gate[2] == 1 && gate[3] == 1 &&
           (gate[0] == 1 || gate[0] == x[0]);
}

float weighted_result(const FusedOpInfo& info, int64_t acc, int64_t oc, const float* bias, float residual) {
    const double ws = info.w_scales.size() == 1 ? info.w_scales[0] : info.w_scales[static_cast<size_t>(oc)];
    double v = static_cast<double>(acc) * static_cast<double>(info.x_scale) * ws;
    if (bias) v += bias[oc];
    return apply_post_ops(info, static_cast<float>(v), residual);
}

void store_result(const FusedOpInfo& info, float v, void* y, int64_t i) {
    switch (info.out_dtype) {
        case DataType::kInt8:
            static_cast<int8_t*>(y)[i] = qmath::quantize<int8_t>(v, info.y_scale, info.y_zero_point);
            break;
        case DataType::kUint8:
            static_cast<uint8_t*>(y)[i] = qmath::quantize<uint8_t>(v, info.y_scale, info.y_zero_point);
            break;
        default:
            static_cast<float*>(y)[i] = v;
            break;
    }
}

}  // namespace qat::ir::fused
