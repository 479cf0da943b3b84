// The libtorch lowering of every op of the reference backend (src/backends/ref/) that training
// meets: the same ONNX semantics, written with differentiable ATen calls so autograd works. The
// window geometry (pads, auto_pad, ceil_mode, ConvTranspose output shapes) comes from the
// reference backend's ref_conv_util.h, so both sides agree on the arithmetic; Resize, Pad (reflect
// / edge) and Slice with negative steps are gathers with host-computed indices, exact for every
// mode the reference implements.
//
// Attributes are read once, when the node is lowered; shape inputs (Reshape's shape, Slice's
// starts, ...) are read at run time from their tensors.
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "backends/ref/ref_conv_util.h"
#include "train/graph_module.h"
#include "train/torch_util.h"

namespace qat::train::detail {
namespace {

using Tensors = std::vector<at::Tensor>;

// A run-time error inside a step (the module adds the node's name).
template <typename... Args>
[[noreturn]] void fail(Args&&... args) {
    throw std::runtime_error(qat::detail::str_cat(std::forward<Args>(args)...));
}

int64_t opset_of(const ir::Node& n) {
    int64_t o = n.opset();
    return o == 0 ? 17 : o;
}

int64_t norm_axis(int64_t axis, int64_t rank, const char* what = "axis") {
    if (axis < -rank || axis >= rank) fail(what, " ", axis, " is out of range for rank ", rank);
    return axis < 0 ? axis + rank : axis;
}

std::vector<int64_t> ints_of(const at::Tensor& t) {
    if (!t.defined()) return {};
    at::Tensor c = t.detach().to(at::kLong).contiguous();
    const int64_t* p = c.data_ptr<int64_t>();
    return std::vector<int64_t>(p, p + c.numel());
}

std::vector<double> doubles_of(const at::Tensor& t) {
    if (!t.defined()) return {};
    at::Tensor c = t.detach().to(at::kDouble).contiguous();
    const double* p = c.data_ptr<double>();
    return std::vector<double>(p, p + c.numel());
}

at::Tensor index_tensor(const std::vector<int64_t>& idx) {
    at::Tensor t = at::empty({static_cast<int64_t>(idx.size())}, at::TensorOptions().dtype(at::kLong));
    std::copy(idx.begin(), idx.end(), t.data_ptr<int64_t>());
    return t;
}

// torch's pad list (last dim first) from per-spatial-dim begin / end pads of an NC... tensor.
std::vector<int64_t> torch_pads(const std::vector<int64_t>& begin, const std::vector<int64_t>& end) {
    std::vector<int64_t> p;
    for (size_t i = begin.size(); i-- > 0;) {
        p.push_back(begin[i]);
        p.push_back(end[i]);
    }
    return p;
}

bool all_zero(const std::vector<int64_t>& v) {
    return std::all_of(v.begin(), v.end(), [](int64_t x) { return x == 0; });
}

// Reads the window attributes at lowering time; spatial rank from kernel_shape (pools) or the
// weight (Conv: resolved at run time, so kept as a lambda).
Result<ref::WindowAttrs> window_attrs(const ir::Node& n, size_t spatial, const std::vector<int64_t>& kernel) {
    return ref::read_window_attrs(n, spatial, kernel);
}

ref::WindowAttrs must_window_attrs(const ir::Node& n, size_t spatial, const std::vector<int64_t>& kernel) {
    auto a = window_attrs(n, spatial, kernel);
    if (!a.ok()) fail(a.status().message());
    return *a;
}

std::vector<int64_t> spatial_dims(const at::Tensor& x) {
    std::vector<int64_t> d = x.sizes().vec();
    if (d.size() < 3) fail("input has rank ", d.size(), ", expected at least 3 (N, C, spatial...)");
    return std::vector<int64_t>(d.begin() + 2, d.end());
}

// ---- Conv / ConvTranspose ---------------------------------------------------------------------

OpFn lower_conv(const ir::Node& node) {
    const int64_t group = node.attr_int("group", 1);
    return [&node, group](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        const at::Tensor& w = in[1];
        if (w.dim() < 3) fail("weight W has rank ", w.dim(), ", expected at least 3");
        const size_t sp = static_cast<size_t>(w.dim() - 2);
        std::vector<int64_t> k(w.sizes().begin() + 2, w.sizes().end());
        ref::WindowAttrs a = must_window_attrs(node, sp, k);
        auto g = ref::resolve_window(node, a, spatial_dims(x), false);
        if (!g.ok()) fail(g.status().message());
        at::Tensor xi = x;
        std::vector<int64_t> pad(sp, 0);
        if (g->pads_begin == g->pads_end) {
            pad = g->pads_begin;
        } else {
            xi = at::constant_pad_nd(x, torch_pads(g->pads_begin, g->pads_end), 0);
        }
        std::vector<int64_t> zeros(sp, 0);
        return {at::convolution(xi, w, in.size() > 2 ? in[2] : at::Tensor(), a.strides, pad, a.dilations, false, zeros,
                                group)};
    };
}

OpFn lower_conv_transpose(const ir::Node& node) {
    const int64_t group = node.attr_int("group", 1);
    return [&node, group](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        const at::Tensor& w = in[1];
        if (w.dim() < 3) fail("weight W has rank ", w.dim(), ", expected at least 3");
        const size_t sp = static_cast<size_t>(w.dim() - 2);
        std::vector<int64_t> k(w.sizes().begin() + 2, w.sizes().end());
        ref::WindowAttrs a = must_window_attrs(node, sp, k);
        std::vector<int64_t> in_sp = spatial_dims(x);
        std::vector<int64_t> out_pad = node.attr_ints("output_padding", std::vector<int64_t>(sp, 0));
        auto g = ref::resolve_conv_transpose(node, a, in_sp, out_pad, node.attr_ints("output_shape"));
        if (!g.ok()) fail(g.status().message());
        std::vector<int64_t> zeros(sp, 0);
        // The full transposed convolution, then a crop (pads) or zero extension (output_padding):
        // out[j] = full[j + pad_begin].
        at::Tensor full = at::convolution(x, w, at::Tensor(), a.strides, zeros, a.dilations, true, zeros, group);
        std::vector<int64_t> begin(sp), end(sp);
        for (size_t i = 0; i < sp; ++i) {
            const int64_t full_len = full.size(static_cast<int64_t>(i) + 2);
            begin[i] = -g->pads_begin[i];
            end[i] = g->out[i] - (full_len - g->pads_begin[i]);
        }
        at::Tensor y = all_zero(begin) && all_zero(end) ? full : at::constant_pad_nd(full, torch_pads(begin, end), 0);
        if (in.size() > 2 && in[2].defined()) {
            std::vector<int64_t> bshape(static_cast<size_t>(y.dim()), 1);
            bshape[1] = in[2].numel();
            y = y + in[2].reshape(bshape);
        }
        return {y};
    };
}

// ---- Gemm / MatMul ----------------------------------------------------------------------------

OpFn lower_gemm(const ir::Node& node) {
    const double alpha = node.attr_float("alpha", 1.0f);
    const double beta = node.attr_float("beta", 1.0f);
    const bool ta = node.attr_int("transA", 0) != 0;
    const bool tb = node.attr_int("transB", 0) != 0;
    return [=](OpContext&, const Tensors& in) -> Tensors {
        if (in[0].dim() != 2 || in[1].dim() != 2)
            fail("A and B must be 2-D, got ", in[0].dim(), "-D and ", in[1].dim(), "-D");
        at::Tensor a = ta ? in[0].t() : in[0];
        at::Tensor b = tb ? in[1].t() : in[1];
        const bool has_c = in.size() > 2 && in[2].defined();
        if (has_c && !ta && tb && alpha == 1.0 && beta == 1.0 && in[2].dim() == 1 && in[2].size(0) == in[1].size(0))
            return {at::linear(in[0], in[1], in[2])};  // the common dense layer
        if (has_c) return {at::addmm(in[2], a, b, beta, alpha)};
        at::Tensor y = at::mm(a, b);
        return {alpha == 1.0 ? y : y * alpha};
    };
}

// ---- BatchNormalization ------------------------------------------------------------------------

OpFn lower_batchnorm(const ir::Node& node) {
    const double eps = node.attr_float("epsilon", 1e-5f);
    // ONNX: running = running * momentum + batch * (1 - momentum); torch's momentum is the other
    // weight.
    const double momentum = 1.0 - static_cast<double>(node.attr_float("momentum", 0.9f));
    return [=](OpContext& ctx, const Tensors& in) -> Tensors {
        for (size_t i = 1; i < 5; ++i)
            if (i >= in.size() || !in[i].defined()) fail("input ", i, " is missing");
        return {at::batch_norm(in[0], in[1], in[2], in[3], in[4], ctx.bn_training, momentum, eps, false)};
    };
}

// ---- element-wise -------------------------------------------------------------------------------

using Unary = std::function<at::Tensor(const at::Tensor&)>;

Result<Unary> unary_fn(const ir::Node& n) {
    const std::string& op = n.op_type();
    if (op == "Relu") return Unary([](const at::Tensor& x) { return at::relu(x); });
    if (op == "LeakyRelu") {
        const double alpha = n.attr_float("alpha", 0.01f);
        return Unary([alpha](const at::Tensor& x) { return at::leaky_relu(x, alpha); });
    }
    if (op == "HardSigmoid") {
        const double alpha = n.attr_float("alpha", 0.2f), beta = n.attr_float("beta", 0.5f);
        return Unary([alpha, beta](const at::Tensor& x) { return at::clamp(x * alpha + beta, 0.0, 1.0); });
    }
    if (op == "HardSwish") return Unary([](const at::Tensor& x) { return at::hardswish(x); });
    if (op == "Elu") {
        const double alpha = n.attr_float("alpha", 1.0f);
        return Unary([alpha](const at::Tensor& x) { return at::elu(x, alpha); });
    }
    if (op == "Sigmoid") return Unary([](const at::Tensor& x) { return at::sigmoid(x); });
    if (op == "Tanh") return Unary([](const at::Tensor& x) { return at::tanh(x); });
    if (op == "Exp") return Unary([](const at::Tensor& x) { return at::exp(x); });
    if (op == "Log") return Unary([](const at::Tensor& x) { return at::log(x); });
    if (op == "Sqrt") return Unary([](const at::Tensor& x) { return at::sqrt(x); });
    if (op == "Reciprocal") return Unary([](const at::Tensor& x) { return at::reciprocal(x); });
    if (op == "Floor") return Unary([](const at::Tensor& x) { return at::floor(x); });
    if (op == "Ceil") return Unary([](const at::Tensor& x) { return at::ceil(x); });
    if (op == "Sin") return Unary([](const at::Tensor& x) { return at::sin(x); });
    if (op == "Cos") return Unary([](const at::Tensor& x) { return at::cos(x); });
    if (op == "Erf") return Unary([](const at::Tensor& x) { return at::erf(x); });
    if (op == "Neg") return Unary([](const at::Tensor& x) { return at::neg(x); });
    if (op == "Abs") return Unary([](const at::Tensor& x) { return at::abs(x); });
    return not_found("no unary lowering");
}

OpFn lower_clip(const ir::Node& node) {
    const bool from_inputs = opset_of(node) >= 11;
    std::optional<double> amin, amax;
    if (!from_inputs) {
        amin = node.attr_float("min", -std::numeric_limits<float>::max());
        amax = node.attr_float("max", std::numeric_limits<float>::max());
    }
    return [=](OpContext&, const Tensors& in) -> Tensors {
        c10::optional<at::Scalar> lo, hi;
        if (from_inputs) {
            if (in.size() > 1 && in[1].defined()) lo = in[1].item();
            if (in.size() > 2 && in[2].defined()) hi = in[2].item();
        } else {
            lo = *amin;
            hi = *amax;
        }
        if (!lo && !hi) return {in[0]};
        return {at::clamp(in[0], lo, hi)};
    };
}

bool is_integral(const at::Tensor& t) { return at::isIntegralType(t.scalar_type(), /*includeBool=*/true); }

OpFn lower_binary(const std::string& op) {
    return [op](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& a = in[0];
        const at::Tensor& b = in[1];
        if (op == "Add") return {a + b};
        if (op == "Sub") return {a - b};
        if (op == "Mul") return {a * b};
        if (op == "Div") return {is_integral(a) && is_integral(b) ? at::div(a, b, "trunc") : a / b};
        if (op == "Pow") {
            at::Tensor y = at::pow(a, b);
            return {y.scalar_type() == a.scalar_type() ? y : y.to(a.scalar_type())};
        }
        if (op == "Equal") return {at::eq(a, b)};
        if (op == "Greater") return {at::gt(a, b)};
        if (op == "Less") return {at::lt(a, b)};
        if (op == "GreaterOrEqual") return {at::ge(a, b)};
        if (op == "LessOrEqual") return {at::le(a, b)};
        fail("no binary lowering for ", op);
    };
}

// ---- pooling -------------------------------------------------------------------------------------

// Pads a window op's input explicitly so that a plain (floor-mode, unpadded) torch pooling gives
// exactly the ONNX output: begin pads as given, end pads up to the last window's extent (which
// may crop input that no window reads).
at::Tensor pad_for_windows(const at::Tensor& x, const ref::WindowAttrs& a, const ref::WindowGeometry& g, double fill) {
    const size_t sp = a.kernel.size();
    std::vector<int64_t> begin(sp), end(sp);
    for (size_t i = 0; i < sp; ++i) {
        const int64_t in = x.size(static_cast<int64_t>(i) + 2);
        const int64_t needed = (g.out[i] - 1) * a.strides[i] + ref::effective_kernel(a.kernel[i], a.dilations[i]);
        begin[i] = g.pads_begin[i];
        end[i] = needed - in - g.pads_begin[i];
    }
    if (all_zero(begin) && all_zero(end)) return x;
    return at::constant_pad_nd(x, torch_pads(begin, end), fill);
}

// torch's own padding works when pads are symmetric, at most half the kernel, and its output
// size (including its ceil_mode rule) equals the ONNX one.
bool torch_padding_ok(const at::Tensor& x, const ref::WindowAttrs& a, const ref::WindowGeometry& g, bool ceil_mode) {
    for (size_t i = 0; i < a.kernel.size(); ++i) {
        if (g.pads_begin[i] != g.pads_end[i] || g.pads_begin[i] * 2 > a.kernel[i]) return false;
        const int64_t in = x.size(static_cast<int64_t>(i) + 2);
        const int64_t span = in + 2 * g.pads_begin[i] - ref::effective_kernel(a.kernel[i], a.dilations[i]);
        int64_t out = (ceil_mode ? (span + a.strides[i] - 1) / a.strides[i] : span / a.strides[i]) + 1;
        if (ceil_mode && (out - 1) * a.strides[i] >= in + g.pads_begin[i]) --out;
        if (out != g.out[i]) return false;
    }
    return true;
}

at::Tensor max_pool_nd(const at::Tensor& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s,
                       const std::vector<int64_t>& p, const std::vector<int64_t>& d, bool ceil_mode) {
    switch (k.size()) {
        case 1:
            return at::max_pool1d(x, k, s, p, d, ceil_mode);
        case 2:
            return at::max_pool2d(x, k, s, p, d, ceil_mode);
        case 3:
            return at::max_pool3d(x, k, s, p, d, ceil_mode);
        default:
            fail("MaxPool over ", k.size(), " spatial dims is not supported (1 to 3 are)");
    }
}

at::Tensor avg_pool_nd(const at::Tensor& x, const std::vector<int64_t>& k, const std::vector<int64_t>& s,
                       const std::vector<int64_t>& p, bool ceil_mode, bool include_pad) {
    switch (k.size()) {
        case 1:
            return at::avg_pool1d(x, k, s, p, ceil_mode, include_pad);
        case 2:
            return at::avg_pool2d(x, k, s, p, ceil_mode, include_pad);
        case 3:
            return at::avg_pool3d(x, k, s, p, ceil_mode, include_pad);
        default:
            fail("AveragePool over ", k.size(), " spatial dims is not supported (1 to 3 are)");
    }
}

OpFn lower_maxpool(const ir::Node& node) {
    const bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
    const std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
    return [&node, ceil_mode, kernel](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        ref::WindowAttrs a = must_window_attrs(node, kernel.size(), {});
        auto g = ref::resolve_window(node, a, spatial_dims(x), ceil_mode);
        if (!g.ok()) fail(g.status().message());
        if (torch_padding_ok(x, a, *g, ceil_mode))
            return {max_pool_nd(x, a.kernel, a.strides, g->pads_begin, a.dilations, ceil_mode)};
        at::Tensor xp = pad_for_windows(x, a, *g, -std::numeric_limits<double>::infinity());
        std::vector<int64_t> zeros(a.kernel.size(), 0);
        return {max_pool_nd(xp, a.kernel, a.strides, zeros, a.dilations, false)};
    };
}

OpFn lower_avgpool(const ir::Node& node) {
    const bool ceil_mode = node.attr_int("ceil_mode", 0) != 0;
    const bool include_pad = node.attr_int("count_include_pad", 0) != 0;
    const std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
    return [&node, ceil_mode, include_pad, kernel](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        ref::WindowAttrs a = must_window_attrs(node, kernel.size(), {});
        for (int64_t d : a.dilations)
            if (d != 1) fail("AveragePool with dilations is not supported");
        auto g = ref::resolve_window(node, a, spatial_dims(x), ceil_mode);
        if (!g.ok()) fail(g.status().message());
        const bool no_pad = all_zero(g->pads_begin) && all_zero(g->pads_end);
        // torch counts the padding like ONNX when both are symmetric and no ceil window hangs
        // over the end (torch would count the overhang's padding differently).
        if (torch_padding_ok(x, a, *g, ceil_mode) && (no_pad || !ceil_mode))
            return {avg_pool_nd(x, a.kernel, a.strides, g->pads_begin, ceil_mode, include_pad)};
        // General case: window sums over the zero-padded input divided by the number of taps the
        // reference counts (inside the input, plus the explicit padding with count_include_pad;
        // never the ceil-mode overhang).
        const size_t sp = a.kernel.size();
        std::vector<int64_t> zeros(sp, 0);
        int64_t taps = 1;
        for (int64_t k : a.kernel) taps *= k;
        at::Tensor xp = pad_for_windows(x, a, *g, 0.0);
        at::Tensor sums = avg_pool_nd(xp, a.kernel, a.strides, zeros, false, true) * static_cast<double>(taps);
        std::vector<int64_t> ones_shape = {1, 1};
        for (int64_t d : spatial_dims(x)) ones_shape.push_back(d);
        at::Tensor ones = at::ones(ones_shape, x.options().requires_grad(false));
        if (include_pad) ones = at::constant_pad_nd(ones, torch_pads(g->pads_begin, g->pads_end), 1.0);
        ref::WindowGeometry g2 = *g;
        if (include_pad) {
            std::fill(g2.pads_end.begin(), g2.pads_end.end(), 0);
            std::fill(g2.pads_begin.begin(), g2.pads_begin.end(), 0);
        }
        at::Tensor counts = avg_pool_nd(pad_for_windows(ones, a, g2, 0.0), a.kernel, a.strides, zeros, false, true) *
                            static_cast<double>(taps);
        return {sums / at::clamp_min(counts, 1.0)};
    };
}

std::vector<int64_t> spatial_axes(const at::Tensor& x) {
    std::vector<int64_t> axes;
    for (int64_t i = 2; i < x.dim(); ++i) axes.push_back(i);
    return axes;
}

// ---- Softmax, ReduceMean ----------------------------------------------------------------------------

OpFn lower_softmax(const ir::Node& node) {
    const bool single_axis = opset_of(node) >= 13;
    const int64_t axis_attr = node.attr_int("axis", single_axis ? -1 : 1);
    return [single_axis, axis_attr](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        const int64_t axis = norm_axis(axis_attr, x.dim());
        if (single_axis) return {at::softmax(x, axis)};
        int64_t rows = 1;
        for (int64_t i = 0; i < axis; ++i) rows *= x.size(i);
        return {at::softmax(x.reshape({rows, -1}), 1).reshape(x.sizes())};
    };
}

OpFn lower_reduce_mean(const ir::Node& node) {
    const std::vector<int64_t> axes_attr = node.attr_ints("axes");
    const bool keep = node.attr_int("keepdims", 1) != 0;
    return [axes_attr, keep](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        std::vector<int64_t> axes;
        for (int64_t a : axes_attr) axes.push_back(norm_axis(a, x.dim(), "axes value"));
        if (axes.empty())
            for (int64_t i = 0; i < x.dim(); ++i) axes.push_back(i);
        return {at::mean(x, axes, keep)};
    };
}

// ---- Resize ---------------------------------------------------------------------------------------

struct ResizeSpec {
    bool linear = false;
    std::string coord = "half_pixel";
    std::string nearest = "round_prefer_floor";
    bool v10 = false;
};

double original_coordinate(const std::string& c, double x, double scale, int64_t in) {
    const double out_len = scale * static_cast<double>(in);
    if (c == "half_pixel") return (x + 0.5) / scale - 0.5;
    if (c == "pytorch_half_pixel") return out_len == 1.0 ? -0.5 : (x + 0.5) / scale - 0.5;
    if (c == "align_corners") return out_len == 1.0 ? 0.0 : x * static_cast<double>(in - 1) / (out_len - 1.0);
    if (c == "asymmetric") return x / scale;
    return (x + 0.5) / scale;  // tf_half_pixel_for_nn
}

int64_t clamp_index(int64_t i, int64_t in) { return i < 0 ? 0 : (i >= in ? in - 1 : i); }

Result<OpFn> lower_resize(const ir::Node& node) {
    ResizeSpec r;
    const std::string mode = node.attr_string("mode", "nearest");
    if (mode != "nearest" && mode != "linear")
        return unsupported(node.desc(), ": Resize mode '", mode, "' has no training lowering (nearest and linear do)");
    r.linear = mode == "linear";
    r.v10 = opset_of(node) < 11;
    if (!r.v10) {
        r.coord = node.attr_string("coordinate_transformation_mode", "half_pixel");
        static const char* kCoords[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                        "tf_half_pixel_for_nn"};
        if (std::find(std::begin(kCoords), std::end(kCoords), r.coord) == std::end(kCoords))
            return unsupported(node.desc(), ": Resize coordinate_transformation_mode '", r.coord,
                               "' has no training lowering");
        r.nearest = node.attr_string("nearest_mode", "round_prefer_floor");
    } else {
        r.coord = "asymmetric";
    }
    return OpFn([r](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        const int64_t rank = x.dim();
        const at::Tensor sc = r.v10 ? (in.size() > 1 ? in[1] : at::Tensor()) : (in.size() > 2 ? in[2] : at::Tensor());
        const at::Tensor sz = r.v10 ? at::Tensor() : (in.size() > 3 ? in[3] : at::Tensor());
        const bool has_scales = sc.defined() && sc.numel() > 0, has_sizes = sz.defined() && sz.numel() > 0;
        if (has_scales == has_sizes) fail("exactly one of the inputs scales and sizes must be given (non-empty)");
        std::vector<double> scales(static_cast<size_t>(rank), 1.0);
        std::vector<int64_t> out(static_cast<size_t>(rank));
        if (has_scales) {
            std::vector<double> s = doubles_of(sc);
            if (static_cast<int64_t>(s.size()) != rank) fail("scales has ", s.size(), " values, X has rank ", rank);
            for (int64_t i = 0; i < rank; ++i) {
                if (!(s[i] > 0.0)) fail("scales value ", s[i], " must be > 0");
                scales[i] = s[i];
                out[i] = static_cast<int64_t>(std::floor(s[i] * static_cast<double>(x.size(i))));
            }
        } else {
            std::vector<int64_t> s = ints_of(sz);
            if (static_cast<int64_t>(s.size()) != rank) fail("sizes has ", s.size(), " values, X has rank ", rank);
            for (int64_t i = 0; i < rank; ++i) {
                out[i] = s[i];
                scales[i] = x.size(i) == 0 ? 1.0 : static_cast<double>(s[i]) / static_cast<double>(x.size(i));
            }
        }
        at::Tensor y = x;
        for (int64_t d = 0; d < rank; ++d) {
            const int64_t n_in = x.size(d);
            if (out[d] == n_in && scales[d] == 1.0) continue;
            std::vector<int64_t> i0(static_cast<size_t>(out[d])), i1(i0.size());
            std::vector<float> w1(i0.size());
            for (int64_t o = 0; o < out[d]; ++o) {
                const double xo = original_coordinate(r.coord, static_cast<double>(o), scales[d], n_in);
                const double fl = std::floor(xo);
                const double frac = xo - fl;
                if (r.linear) {
                    i0[o] = clamp_index(static_cast<int64_t>(fl), n_in);
                    i1[o] = clamp_index(static_cast<int64_t>(fl) + 1, n_in);
                    w1[o] = static_cast<float>(frac);
                    continue;
                }
                if (r.v10) {
                    i0[o] = clamp_index(static_cast<int64_t>(scales[d] < 1.0 ? std::ceil(xo) : std::trunc(xo)), n_in);
                    continue;
                }
                bool up;
                if (frac == 0.0)
                    up = false;
                else if (r.nearest == "round_prefer_floor")
                    up = frac > 0.5;
                else if (r.nearest == "round_prefer_ceil")
                    up = frac >= 0.5;
                else
                    up = r.nearest == "ceil";
                i0[o] = clamp_index(static_cast<int64_t>(fl) + (up ? 1 : 0), n_in);
            }
            at::Tensor a = at::index_select(y, d, index_tensor(i0));
            if (r.linear) {
                at::Tensor b = at::index_select(y, d, index_tensor(i1));
                std::vector<int64_t> wshape(static_cast<size_t>(rank), 1);
                wshape[d] = out[d];
                at::Tensor wt = at::empty({out[d]}, at::TensorOptions().dtype(at::kFloat));
                std::copy(w1.begin(), w1.end(), wt.data_ptr<float>());
                wt = wt.to(x.scalar_type()).reshape(wshape);
                a = a + (b - a) * wt;
            }
            y = a;
        }
        return {y};
    });
}

// ---- Pad --------------------------------------------------------------------------------------------

// Source index of output position o along a dim of length n padded by `begin` (reflect: mirror
// without repeating the edge; edge: clamp).
int64_t pad_source(int64_t o, int64_t begin, int64_t n, bool reflect) {
    int64_t i = o - begin;
    if (!reflect) return clamp_index(i, n);
    if (n == 1) return 0;
    const int64_t period = 2 * (n - 1);
    i %= period;
    if (i < 0) i += period;
    return i < n ? i : period - i;
}

OpFn lower_pad(const ir::Node& node) {
    const bool v2 = opset_of(node) < 11;
    const std::string mode = node.attr_string("mode", "constant");
    const std::vector<int64_t> pads_attr = node.attr_ints("pads");
    const double value_attr = node.attr_float("value", 0.0f);
    return [=](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        const int64_t rank = x.dim();
        std::vector<int64_t> pads = v2 ? pads_attr : ints_of(in.size() > 1 ? in[1] : at::Tensor());
        if (static_cast<int64_t>(pads.size()) != 2 * rank)
            fail("pads has ", pads.size(), " values, expected ", 2 * rank);
        double value = value_attr;
        if (!v2 && in.size() > 2 && in[2].defined() && in[2].numel() > 0) value = in[2].item<double>();
        if (mode == "constant") {
            std::vector<int64_t> tp;
            for (int64_t i = rank; i-- > 0;) {
                tp.push_back(pads[i]);
                tp.push_back(pads[i + rank]);
            }
            return {at::constant_pad_nd(x, tp, value)};
        }
        if (mode != "reflect" && mode != "edge") fail("Pad mode '", mode, "' is not one of constant, reflect, edge");
        at::Tensor y = x;
        for (int64_t d = 0; d < rank; ++d) {
            const int64_t b = pads[d], e = pads[d + rank];
            if (b == 0 && e == 0) continue;
            const int64_t n = x.size(d);
            if (b < 0 || e < 0) fail("negative pads are only supported in constant mode");
            if (n == 0) fail("cannot ", mode, "-pad the empty dim ", d);
            if (mode == "reflect" && (b >= n || e >= n)) fail("reflect pads must be smaller than the dim (", n, ")");
            std::vector<int64_t> idx(static_cast<size_t>(n + b + e));
            for (int64_t o = 0; o < n + b + e; ++o) idx[o] = pad_source(o, b, n, mode == "reflect");
            y = at::index_select(y, d, index_tensor(idx));
        }
        return {y};
    };
}

// ---- shape and data movement -----------------------------------------------------------------------

OpFn lower_flatten(const ir::Node& node) {
    const int64_t axis_attr = node.attr_int("axis", 1);
    return [axis_attr](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        const int64_t r = x.dim();
        if (axis_attr < -r || axis_attr > r) fail("axis ", axis_attr, " is out of range for rank ", r);
        const int64_t axis = axis_attr < 0 ? axis_attr + r : axis_attr;
        int64_t a = 1, b = 1;
        for (int64_t i = 0; i < r; ++i) (i < axis ? a : b) *= x.size(i);
        return {x.reshape({a, b})};
    };
}

OpFn lower_reshape(const ir::Node& node) {
    const bool allowzero = node.attr_int("allowzero", 0) != 0;
    return [allowzero](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        std::vector<int64_t> shape = ints_of(in[1]);
        for (size_t i = 0; i < shape.size(); ++i) {
            if (shape[i] == 0 && !allowzero) {
                if (static_cast<int64_t>(i) >= x.dim()) fail("shape copies dim ", i, " of a rank-", x.dim(), " input");
                shape[i] = x.size(static_cast<int64_t>(i));
            }
        }
        return {x.reshape(shape)};
    };
}

std::vector<int64_t> axes_input_or_attr(const ir::Node& node, const Tensors& in, bool from_input) {
    if (from_input) return in.size() > 1 && in[1].defined() ? ints_of(in[1]) : std::vector<int64_t>{};
    return node.attr_ints("axes");
}

OpFn lower_squeeze(const ir::Node& node) {
    const bool from_input = opset_of(node) >= 13;
    return [&node, from_input](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        std::vector<int64_t> axes = axes_input_or_attr(node, in, from_input);
        std::vector<int64_t> keep;
        std::vector<bool> drop(static_cast<size_t>(x.dim()), false);
        if (axes.empty()) {
            for (int64_t i = 0; i < x.dim(); ++i) drop[i] = x.size(i) == 1;
        } else {
            for (int64_t a : axes) {
                int64_t n = norm_axis(a, x.dim(), "axes value");
                if (x.size(n) != 1) fail("cannot squeeze dim ", n, " of size ", x.size(n));
                drop[n] = true;
            }
        }
        for (int64_t i = 0; i < x.dim(); ++i)
            if (!drop[i]) keep.push_back(x.size(i));
        return {x.reshape(keep)};
    };
}

OpFn lower_unsqueeze(const ir::Node& node) {
    const bool from_input = opset_of(node) >= 13;
    return [&node, from_input](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        std::vector<int64_t> axes = axes_input_or_attr(node, in, from_input);
        const int64_t out_rank = x.dim() + static_cast<int64_t>(axes.size());
        std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
        for (int64_t a : axes) {
            int64_t n = norm_axis(a, out_rank, "axes value");
            if (inserted[n]) fail("axes has ", n, " twice");
            inserted[n] = true;
        }
        std::vector<int64_t> shape;
        int64_t src = 0;
        for (int64_t i = 0; i < out_rank; ++i) shape.push_back(inserted[i] ? 1 : x.size(src++));
        return {x.reshape(shape)};
    };
}

OpFn lower_transpose(const ir::Node& node) {
    const std::vector<int64_t> perm_attr = node.attr_ints("perm");
    return [perm_attr](OpContext&, const Tensors& in) -> Tensors {
        std::vector<int64_t> perm = perm_attr;
        if (perm.empty())
            for (int64_t i = in[0].dim(); i-- > 0;) perm.push_back(i);
        return {in[0].permute(perm)};
    };
}

OpFn lower_concat(const ir::Node& node) {
    const int64_t axis_attr = node.attr_int("axis", 0);
    return [axis_attr](OpContext&, const Tensors& in) -> Tensors {
        std::vector<at::Tensor> xs;
        for (const at::Tensor& t : in)
            if (t.defined()) xs.push_back(t);
        if (xs.empty()) fail("no inputs");
        return {at::cat(xs, norm_axis(axis_attr, xs[0].dim()))};
    };
}

OpFn lower_split(const ir::Node& node) {
    const bool from_input = opset_of(node) >= 13;
    const int64_t axis_attr = node.attr_int("axis", 0);
    const std::vector<int64_t> split_attr = node.attr_ints("split");
    const int64_t outs = static_cast<int64_t>(node.num_outputs());
    return [=](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        const int64_t axis = norm_axis(axis_attr, x.dim());
        std::vector<int64_t> sizes = from_input ? ints_of(in.size() > 1 ? in[1] : at::Tensor()) : split_attr;
        if (sizes.empty()) {
            const int64_t n = x.size(axis);
            if (n % outs != 0) fail("dim ", axis, " of size ", n, " does not split evenly into ", outs, " outputs");
            sizes.assign(static_cast<size_t>(outs), n / outs);
        }
        if (static_cast<int64_t>(sizes.size()) != outs)
            fail("split has ", sizes.size(), " sizes for ", outs, " outputs");
        return at::split_with_sizes(x, sizes, axis);
    };
}

OpFn lower_slice(const ir::Node& node) {
    const bool from_inputs = opset_of(node) >= 10;
    const std::vector<int64_t> starts_attr = node.attr_ints("starts"), ends_attr = node.attr_ints("ends"),
                               axes_attr = node.attr_ints("axes");
    return [=](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        std::vector<int64_t> starts, ends, axes, steps;
        if (from_inputs) {
            starts = ints_of(in[1]);
            ends = ints_of(in[2]);
            if (in.size() > 3 && in[3].defined()) axes = ints_of(in[3]);
            if (in.size() > 4 && in[4].defined()) steps = ints_of(in[4]);
        } else {
            starts = starts_attr;
            ends = ends_attr;
            axes = axes_attr;
        }
        if (starts.size() != ends.size()) fail("starts and ends differ in length");
        if (axes.empty())
            for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
        if (steps.empty()) steps.assign(starts.size(), 1);
        if (axes.size() != starts.size() || steps.size() != starts.size())
            fail("starts, axes and steps differ in length");
        at::Tensor y = x;
        for (size_t i = 0; i < starts.size(); ++i) {
            const int64_t axis = norm_axis(axes[i], x.dim(), "axes value");
            const int64_t n = x.size(axis);
            const int64_t step = steps[i];
            if (step == 0) fail("steps must not be 0");
            int64_t s = starts[i] < 0 ? starts[i] + n : starts[i];
            int64_t e = ends[i] < 0 ? ends[i] + n : ends[i];
            if (step > 0) {
                s = std::clamp<int64_t>(s, 0, n);
                e = std::clamp<int64_t>(e, 0, n);
                if (e < s) e = s;
                y = y.slice(axis, s, e, step);
            } else {
                s = std::clamp<int64_t>(s, 0, n - 1);
                e = std::clamp<int64_t>(e, -1, n - 1);
                std::vector<int64_t> idx;
                for (int64_t j = s; j > e; j += step) idx.push_back(j);
                y = at::index_select(y, axis, index_tensor(idx));
            }
        }
        return {y};
    };
}

OpFn lower_gather(const ir::Node& node) {
    const int64_t axis_attr = node.attr_int("axis", 0);
    return [axis_attr](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        const int64_t axis = norm_axis(axis_attr, x.dim());
        const int64_t n = x.size(axis);
        at::Tensor idx = in[1].to(at::kLong);
        if (idx.numel() > 0) {
            const int64_t lo = idx.min().item<int64_t>(), hi = idx.max().item<int64_t>();
            if (lo < -n || hi >= n) fail("indices must be in [", -n, ", ", n - 1, "], got ", lo, "..", hi);
        }
        idx = at::where(idx < 0, idx + n, idx);
        at::Tensor y = at::index_select(x, axis, idx.reshape({-1}));
        std::vector<int64_t> shape(x.sizes().begin(), x.sizes().begin() + axis);
        for (int64_t d : idx.sizes()) shape.push_back(d);
        for (int64_t i = axis + 1; i < x.dim(); ++i) shape.push_back(x.size(i));
        return {y.reshape(shape)};
    };
}

OpFn lower_expand() {
    return [](OpContext&, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        std::vector<int64_t> shape = ints_of(in[1]);
        // Bidirectional broadcast of x's dims and `shape`.
        const size_t r = std::max<size_t>(shape.size(), static_cast<size_t>(x.dim()));
        std::vector<int64_t> out(r);
        for (size_t i = 0; i < r; ++i) {
            const int64_t a = i + static_cast<size_t>(x.dim()) >= r ? x.size(static_cast<int64_t>(i + x.dim() - r)) : 1;
            const int64_t b = i + shape.size() >= r ? shape[i + shape.size() - r] : 1;
            if (a != b && a != 1 && b != 1) fail("cannot broadcast ", x.sizes(), " to shape ", dims_to_string(shape));
            out[i] = a == 1 ? b : a;
        }
        return {x.expand(out)};
    };
}

Result<at::ScalarType> onnx_type(int64_t t) {
    switch (t) {
        case 1:
            return at::kFloat;
        case 2:
            return at::kByte;
        case 3:
            return at::kChar;
        case 5:
            return at::kShort;
        case 6:
            return at::kInt;
        case 7:
            return at::kLong;
        case 9:
            return at::kBool;
        case 11:
            return at::kDouble;
        default:
            return unsupported("Cast to ONNX data type ", t, " has no training lowering");
    }
}

at::Tensor full_like_value(const std::vector<int64_t>& shape, const Tensor& value) {
    if (!value.defined()) return at::zeros(shape, at::TensorOptions().dtype(at::kFloat));
    auto t = to_torch(value);
    if (!t.ok()) fail(t.status().message());
    return t->reshape({}).expand(shape).contiguous();
}

OpFn lower_dropout(const ir::Node& node) {
    const bool from_input = opset_of(node) >= 12;
    const double ratio_attr = node.attr_float("ratio", 0.5f);
    return [=](OpContext& ctx, const Tensors& in) -> Tensors {
        const at::Tensor& x = in[0];
        if (!ctx.training) return {x};
        double ratio = ratio_attr;
        if (from_input && in.size() > 1 && in[1].defined()) ratio = in[1].item<double>();
        if (ratio <= 0.0) return {x};
        if (ratio >= 1.0) return {x * 0.0};
        // A mask from (seed, step, node): the same for a resumed run, whatever ran before.
        uint64_t s = ctx.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(ctx.step) * 0xBF58476D1CE4E5B9ull +
                     static_cast<uint64_t>(ctx.node_index) * 0x94D049BB133111EBull;
        at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(s);
        at::Tensor keep = at::empty_like(x, x.options().requires_grad(false)).bernoulli_(1.0 - ratio, gen);
        return {x * keep / (1.0 - ratio)};
    };
}

Status refuse_read_output(const ir::Node& node, size_t i, const std::string& what) {
    const ir::Value* v = node.output(i);
    if (v && (v->has_uses() || v->is_graph_output()))
        return unsupported(node.desc(), ": its ", what, " output is read, which training does not support");
    return OkStatus();
}

}  // namespace

const char* param_kind_name(ParamKind k) {
    switch (k) {
        case ParamKind::kWeight:
            return "weight";
        case ParamKind::kBias:
            return "bias";
        case ParamKind::kBnScale:
            return "bn_scale";
        case ParamKind::kBnBias:
            return "bn_bias";
        case ParamKind::kOther:
            return "other";
    }
    return "?";
}

Result<OpFn> lower_node(const ir::Node& node) {
    const std::string& op = node.op_type();
    if (!node.domain().empty() && node.domain() != "ai.onnx") {
        if (node.domain() == "com.qat")
            return unsupported(node.desc(),
                               " (domain com.qat) is a fused int8 op of the engine, which training cannot "
                               "run: fine-tune the Q/DQ model that `qat quantize` wrote instead");
        return unsupported(node.desc(), ": op domain '", node.domain(), "' has no training support");
    }
    if (op == "Conv") return lower_conv(node);
    if (op == "ConvTranspose") return lower_conv_transpose(node);
    if (op == "Gemm") return lower_gemm(node);
    if (op == "MatMul")
        return OpFn([](OpContext&, const Tensors& in) -> Tensors { return {at::matmul(in[0], in[1])}; });
    if (op == "BatchNormalization") {
        for (size_t i = 1; i < node.num_outputs(); ++i)
            QAT_RETURN_IF_ERROR(refuse_read_output(node, i, "running statistics"));
        return lower_batchnorm(node);
    }
    if (auto u = unary_fn(node); u.ok()) {
        Unary f = *u;
        return OpFn([f](OpContext&, const Tensors& in) -> Tensors { return {f(in[0])}; });
    }
    if (op == "Clip") return lower_clip(node);
    static const char* kBinary[] = {
        "Add", "Sub", "Mul", "Div", "Pow", "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual"};
    if (std::find(std::begin(kBinary), std::end(kBinary), op) != std::end(kBinary)) return lower_binary(op);
    if (op == "PRelu")
        return OpFn(
            [](OpContext&, const Tensors& in) -> Tensors { return {at::where(in[0] < 0, in[0] * in[1], in[0])}; });
    if (op == "Max" || op == "Min") {
        const bool mx = op == "Max";
        return OpFn([mx](OpContext&, const Tensors& in) -> Tensors {
            at::Tensor y = in[0];
            for (size_t i = 1; i < in.size(); ++i) y = mx ? at::maximum(y, in[i]) : at::minimum(y, in[i]);
            return {y};
        });
    }
    if (op == "Where")
        return OpFn(
            [](OpContext&, const Tensors& in) -> Tensors { return {at::where(in[0].to(at::kBool), in[1], in[2])}; });
    if (op == "Cast") {
        QAT_ASSIGN_OR_RETURN(at::ScalarType to, onnx_type(node.attr_int("to", 1)).with_context(node.desc()));
        return OpFn([to](OpContext&, const Tensors& in) -> Tensors { return {in[0].to(to)}; });
    }
    if (op == "CastLike")
        return OpFn([](OpContext&, const Tensors& in) -> Tensors { return {in[0].to(in[1].scalar_type())}; });
    if (op == "ConstantOfShape") {
        const ir::Attribute* a = node.attr("value");
        Tensor value = a && a->kind == ir::Attribute::Kind::kTensor ? a->t : Tensor();
        return OpFn(
            [value](OpContext&, const Tensors& in) -> Tensors { return {full_like_value(ints_of(in[0]), value)}; });
    }
    if (op == "MaxPool") {
        QAT_RETURN_IF_ERROR(refuse_read_output(node, 1, "Indices"));
        if (node.attr_ints("kernel_shape").empty()) return invalid_model(node.desc(), ": kernel_shape is missing");
        return lower_maxpool(node);
    }
    if (op == "AveragePool") {
        if (node.attr_ints("kernel_shape").empty()) return invalid_model(node.desc(), ": kernel_shape is missing");
        return lower_avgpool(node);
    }
    if (op == "GlobalAveragePool")
        return OpFn(
            [](OpContext&, const Tensors& in) -> Tensors { return {at::mean(in[0], spatial_axes(in[0]), true)}; });
    if (op == "GlobalMaxPool")
        return OpFn(
            [](OpContext&, const Tensors& in) -> Tensors { return {at::amax(in[0], spatial_axes(in[0]), true)}; });
    if (op == "Softmax") return lower_softmax(node);
    if (op == "ReduceMean") return lower_reduce_mean(node);
    if (op == "Resize") return lower_resize(node);
    if (op == "Pad") return lower_pad(node);
    if (op == "Flatten") return lower_flatten(node);
    if (op == "Reshape") return lower_reshape(node);
    if (op == "Squeeze") return lower_squeeze(node);
    if (op == "Unsqueeze") return lower_unsqueeze(node);
    if (op == "Identity") return OpFn([](OpContext&, const Tensors& in) -> Tensors { return {in[0]}; });
    if (op == "Dropout") {
        QAT_RETURN_IF_ERROR(refuse_read_output(node, 1, "mask"));
        return lower_dropout(node);
    }
    if (op == "Shape") {
        const int64_t start_attr = node.attr_int("start", 0);
        const std::optional<int64_t> end_attr =
            node.has_attr("end") ? std::optional<int64_t>(node.attr_int("end", 0)) : std::nullopt;
        return OpFn([start_attr, end_attr](OpContext&, const Tensors& in) -> Tensors {
            const int64_t r = in[0].dim();
            auto clampi = [r](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + r : v, 0, r); };
            const int64_t s = clampi(start_attr), e = end_attr ? clampi(*end_attr) : r;
            std::vector<int64_t> d;
            for (int64_t i = s; i < e; ++i) d.push_back(in[0].size(i));
            return {index_tensor(d)};
        });
    }
    if (op == "Size")
        return OpFn([](OpContext&, const Tensors& in) -> Tensors {
            return {at::scalar_tensor(in[0].numel(), at::TensorOptions().dtype(at::kLong))};
        });
    if (op == "Transpose") return lower_transpose(node);
    if (op == "Concat") return lower_concat(node);
    if (op == "Split") return lower_split(node);
    if (op == "Slice") return lower_slice(node);
    if (op == "Gather") return lower_gather(node);
    if (op == "Expand") return lower_expand();
    return unsupported(node.desc(), ": op ", op,
                       " has no training support (ops with a gradient that the reference "
                       "backend runs are supported; see docs/TRAIN.md)");
}

}  // namespace qat::train::detail
