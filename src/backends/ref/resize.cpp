// Resize (opset 10, 11, 13): modes nearest and linear over any number of dims.
//
// Each output coordinate x is mapped to an input coordinate x_ori by the
// coordinate_transformation_mode (scale = out / in along that dim):
//   half_pixel          (x + 0.5) / scale - 0.5
//   pytorch_half_pixel  same, but x_ori = -0.5 when the output length is 1
//   align_corners       x * (in - 1) / (out_len - 1), 0 when out_len is 1
//   asymmetric          x / scale
//   tf_half_pixel_for_nn (x + 0.5) / scale
// where out_len = scale * in as a real number (the ONNX reference's choice: with scales that do
// not divide evenly, align_corners uses the unrounded length). Neighbours outside the input take
// the edge value. linear = multilinear (separable) interpolation of the two neighbours per dim;
// nearest = one neighbour per dim, picked by nearest_mode (round_prefer_floor, round_prefer_ceil,
// floor, ceil; an integral x_ori picks itself).
//
// Resize-10 has no such attributes: it behaves like Upsample, asymmetric coordinates, and its
// nearest neighbour is the truncated coordinate when upsampling and the ceiling when
// downsampling (ONNX Runtime's rule for opset 10).
//
// Not implemented (declined in supports() with the reason): mode cubic and the
// tf_crop_and_resize transformation.
#include <cmath>
#include <cstring>
#include <vector>

#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_util.h"

namespace qat::ref {
namespace {

enum class Coord { kHalfPixel, kPytorchHalfPixel, kAlignCorners, kAsymmetric, kTfHalfPixelForNN };
enum class Nearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kOpset10 };

struct ResizeAttrs {
    bool linear = false;
    Coord coord = Coord::kHalfPixel;
    Nearest nearest = Nearest::kRoundPreferFloor;
};

bool is_opset10(const ir::Node& node) { return node.opset() != 0 && node.opset() < 11; }

Result<ResizeAttrs> read_resize_attrs(const ir::Node& node) {
    ResizeAttrs a;
    const std::string mode = node.attr_string("mode", "nearest");
    if (mode == "cubic") return unsupported("Resize mode 'cubic' is not supported (nearest and linear are)");
    if (mode != "nearest" && mode != "linear")
        return runtime::kernel_error(node, "mode '", mode, "' is not one of nearest, linear, cubic");
    a.linear = mode == "linear";
    if (is_opset10(node)) {
        a.coord = Coord::kAsymmetric;
        a.nearest = Nearest::kOpset10;
        return a;
    }
    const std::string ct = node.attr_string("coordinate_transformation_mode", "half_pixel");
    if (ct == "half_pixel")
        a.coord = Coord::kHalfPixel;
    else if (ct == "pytorch_half_pixel")
        a.coord = Coord::kPytorchHalfPixel;
    else if (ct == "align_corners")
        a.coord = Coord::kAlignCorners;
    else if (ct == "asymmetric")
        a.coord = Coord::kAsymmetric;
    else if (ct == "tf_half_pixel_for_nn")
        a.coord = Coord::kTfHalfPixelForNN;
    else if (ct == "tf_crop_and_resize")
        return unsupported("Resize coordinate_transformation_mode 'tf_crop_and_resize' is not supported");
    else
        return runtime::kernel_error(node, "coordinate_transformation_mode '", ct, "' is unknown");
    const std::string nm = node.attr_string("nearest_mode", "round_prefer_floor");
    if (nm == "round_prefer_floor")
        a.nearest = Nearest::kRoundPreferFloor;
    else if (nm == "round_prefer_ceil")
        a.nearest = Nearest::kRoundPreferCeil;
    else if (nm == "floor")
        a.nearest = Nearest::kFloor;
    else if (nm == "ceil")
        a.nearest = Nearest::kCeil;
    else
        return runtime::kernel_error(node, "nearest_mode '", nm, "' is unknown");
    return a;
}

Status supports_resize(const ir::Node& node) {
    auto a = read_resize_attrs(node);
    return a.ok() ? OkStatus() : a.status();
}

double original_coordinate(Coord c, double x, double scale, int64_t in) {
    const double out_len = scale * static_cast<double>(in);
    switch (c) {
        case Coord::kHalfPixel:
            return (x + 0.5) / scale - 0.5;
        case Coord::kPytorchHalfPixel:
            return out_len == 1.0 ? -0.5 : (x + 0.5) / scale - 0.5;
        case Coord::kAlignCorners:
            return out_len == 1.0 ? 0.0 : x * static_cast<double>(in - 1) / (out_len - 1.0);
        case Coord::kAsymmetric:
            return x / scale;
        case Coord::kTfHalfPixelForNN:
            return (x + 0.5) / scale;
    }
    return 0.0;
}

int64_t clamp_index(int64_t i, int64_t in) { return i < 0 ? 0 : (i >= in ? in - 1 : i); }

// Up to two input taps of one output coordinate along one dim.
struct Taps {
    int64_t i0 = 0, i1 = 0;
    double w0 = 1.0, w1 = 0.0;
};

Taps taps_for(const ResizeAttrs& a, int64_t x, double scale, int64_t in) {
    const double xo = original_coordinate(a.coord, static_cast<double>(x), scale, in);
    const double fl = std::floor(xo);
    const double frac = xo - fl;
    Taps t;
    if (a.linear) {
        t.i0 = clamp_index(static_cast<int64_t>(fl), in);
        t.i1 = clamp_index(static_cast<int64_t>(fl) + 1, in);
        t.w0 = 1.0 - frac;
        t.w1 = frac;
        return t;
    }
    bool up;  // take floor + 1 instead of floor
    if (a.nearest == Nearest::kOpset10) {
        t.i0 = clamp_index(static_cast<int64_t>(scale < 1.0 ? std::ceil(xo) : std::trunc(xo)), in);
        return t;
    }
    if (frac == 0.0)
        up = false;
    else if (a.nearest == Nearest::kRoundPreferFloor)
        up = frac > 0.5;
    else if (a.nearest == Nearest::kRoundPreferCeil)
        up = frac >= 0.5;
    else
        up = a.nearest == Nearest::kCeil;
    t.i0 = clamp_index(static_cast<int64_t>(fl) + (up ? 1 : 0), in);
    return t;
}

// Scales and output dims from the scales or sizes input (exactly one must be given).
Status output_geometry(const runtime::KernelContext& ctx, const Tensor& x, std::vector<double>* scales,
                       std::vector<int64_t>* out_dims) {
    const ir::Node& node = ctx.node();
    const size_t r = x.rank();
    const bool v10 = is_opset10(node);
    const Tensor* sc = ctx.input(v10 ? 1 : 2);
    const Tensor* sz = v10 ? nullptr : ctx.input(3);
    const bool has_scales = sc && sc->defined() && sc->numel() > 0;
    const bool has_sizes = sz && sz->defined() && sz->numel() > 0;
    if (has_scales == has_sizes)
        return runtime::kernel_error(node, "exactly one of the inputs scales and sizes must be given (non-empty)");
    scales->assign(r, 1.0);
    out_dims->assign(r, 0);
    if (has_scales) {
        QAT_ASSIGN_OR_RETURN(std::vector<double> s, float_values(node, *sc, "scales"));
        if (s.size() != r)
            return runtime::kernel_error(node, "scales has ", s.size(), " values, X ", dims_to_string(x.dims()),
                                         " has rank ", r);
        for (size_t i = 0; i < r; ++i) {
            if (!(s[i] > 0.0) || !std::isfinite(s[i]))
                return runtime::kernel_error(node, "scales value ", s[i], " must be finite and > 0");
            (*scales)[i] = s[i];
            const double len = std::floor(s[i] * static_cast<double>(x.dim(i)));
            if (len > static_cast<double>(kMaxOutputBytes))
                return runtime::kernel_error(node, "scales value ", s[i], " makes dim ", i, " of X ",
                                             dims_to_string(x.dims()), " absurdly large");
            (*out_dims)[i] = static_cast<int64_t>(len);
        }
    } else {
        QAT_ASSIGN_OR_RETURN(std::vector<int64_t> s, int_values(node, *sz, "sizes"));
        if (s.size() != r)
            return runtime::kernel_error(node, "sizes has ", s.size(), " values, X ", dims_to_string(x.dims()),
                                         " has rank ", r);
        for (size_t i = 0; i < r; ++i) {
            if (s[i] < 0) return runtime::kernel_error(node, "sizes ", dims_to_string(s), " has a negative value");
            if (x.dim(i) == 0 && s[i] > 0)
                return runtime::kernel_error(node, "cannot resize the empty dim ", i, " of X ",
                                             dims_to_string(x.dims()), " to ", s[i]);
            (*out_dims)[i] = s[i];
            (*scales)[i] = x.dim(i) == 0 ? 1.0 : static_cast<double>(s[i]) / static_cast<double>(x.dim(i));
        }
    }
    for (size_t i = 0; i < r; ++i)
        if (x.dim(i) == 0 && (*out_dims)[i] > 0)
            return runtime::kernel_error(node, "cannot resize the empty dim ", i, " of X ", dims_to_string(x.dims()));
    return check_output_dims(node, *out_dims, x.dtype());
}

// Multilinear interpolation: the sum over the 2^rank tap combinations (skipping zero weights).
template <typename T>
void resize_linear(const T* x, T* y, const std::vector<std::vector<Taps>>& taps, const std::vector<int64_t>& in_strides,
                   const std::vector<int64_t>& out_dims) {
    const size_t r = out_dims.size();
    const int64_t n = numel_of(out_dims);
    std::vector<int64_t> idx(r, 0);
    for (int64_t e = 0; e < n; ++e) {
        double sum = 0.0;
        for (uint32_t combo = 0; combo < (1u << r); ++combo) {
            double w = 1.0;
            int64_t off = 0;
            for (size_t d = 0; d < r && w != 0.0; ++d) {
                const Taps& t = taps[d][idx[d]];
                const bool second = (combo >> d) & 1u;
                w *= second ? t.w1 : t.w0;
                off += (second ? t.i1 : t.i0) * in_strides[d];
            }
            if (w != 0.0) sum += w * static_cast<double>(x[off]);
        }
        y[e] = static_cast<T>(sum);
        for (size_t d = r; d-- > 0;) {
            if (++idx[d] < out_dims[d]) break;
            idx[d] = 0;
        }
    }
}

Status run_resize(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(ResizeAttrs a, read_resize_attrs(node));
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "X"));
    QAT_RETURN_IF_ERROR(check_rank(node, *x, "X", 1, 16));
    if (a.linear) QAT_RETURN_IF_ERROR(check_dtype(node, *x, "X", {DataType::kFloat32, DataType::kFloat64}));
    std::vector<double> scales;
    std::vector<int64_t> out_dims;
    QAT_RETURN_IF_ERROR(output_geometry(ctx, *x, &scales, &out_dims));

    const size_t r = x->rank();
    std::vector<std::vector<Taps>> taps(r);
    for (size_t d = 0; d < r; ++d)
        for (int64_t o = 0; o < out_dims[d]; ++o) taps[d].push_back(taps_for(a, o, scales[d], x->dim(d)));
    const std::vector<int64_t> in_strides = strides_of(x->dims());
    Tensor& y = ctx.allocate_output(0, x->dtype(), out_dims);

    if (a.linear) {
        if (x->dtype() == DataType::kFloat32)
            resize_linear<float>(x->data<float>(), y.data<float>(), taps, in_strides, out_dims);
        else
            resize_linear<double>(x->data<double>(), y.data<double>(), taps, in_strides, out_dims);
        return OkStatus();
    }
    // Nearest copies one element per output, whatever the dtype.
    const size_t es = dtype_size(x->dtype());
    const auto* src = static_cast<const unsigned char*>(x->raw_data());
    auto* dst = static_cast<unsigned char*>(y.raw_data());
    std::vector<int64_t> idx(r, 0);
    for (int64_t e = 0; e < y.numel(); ++e) {
        int64_t off = 0;
        for (size_t d = 0; d < r; ++d) off += taps[d][idx[d]].i0 * in_strides[d];
        std::memcpy(dst + e * es, src + off * es, es);
        for (size_t d = r; d-- > 0;) {
            if (++idx[d] < out_dims[d]) break;
            idx[d] = 0;
        }
    }
    return OkStatus();
}

}  // namespace

void register_resize_kernels(runtime::KernelRegistry& reg) {
    add_ref_kernel(
        reg, "Resize",
        [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> { return make_fn_kernel(run_resize); },
        supports_resize);
}

}  // namespace qat::ref
