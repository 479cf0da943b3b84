#include "data/transforms.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "data/io_util.h"
#include "data/memory_dataset.h"

namespace qat::data {

const char* layout_name(Layout l) { return l == Layout::kNCHW ? "NCHW" : "NHWC"; }

bool Preprocess::is_identity() const {
    auto all = [](const std::vector<float>& v, float x) {
        return std::all_of(v.begin(), v.end(), [x](float y) { return y == x; });
    };
    return scale == 1.0f && all(mean, 0.0f) && all(std, 1.0f) && resize.empty() && crop.empty() &&
           layout == Layout::kNCHW && !to_rgb;
}

std::string Preprocess::to_string() const {
    std::ostringstream os;
    auto list = [&](const char* name, const auto& v, const char* sep) {
        if (v.empty()) return;
        os << " " << name << "=";
        if (v.size() > 1 && sep[0] == ',') os << "[";
        for (size_t i = 0; i < v.size(); ++i) os << (i ? sep : "") << v[i];
        if (v.size() > 1 && sep[0] == ',') os << "]";
    };
    os << "scale=" << scale;
    list("mean", mean, ",");
    list("std", std, ",");
    list("resize", resize, "x");
    list("crop", crop, "x");
    os << " " << layout_name(layout);
    if (to_rgb) os << " to_rgb";
    return os.str();
}

Preprocess default_preprocess(DataType sample_dtype) {
    Preprocess p;
    if (sample_dtype == DataType::kUint8) p.scale = 1.0f / 255.0f;
    return p;
}

// ---- resize -------------------------------------------------------------------------------------

namespace {

void build_taps(detail::ResizeTaps* t, int64_t in, int64_t out, bool antialias) {
    if (t->in == in && t->out == out && t->antialias == antialias) return;
    t->in = in;
    t->out = out;
    t->antialias = antialias;
    const double scale = static_cast<double>(in) / static_cast<double>(out);
    // Triangle filter of radius `support` input pixels: 1 when enlarging (bilinear), the scale
    // factor when shrinking with antialias (each output averages its whole footprint).
    const double support = (antialias && scale > 1.0) ? scale : 1.0;
    t->stride = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
    t->start.assign(static_cast<size_t>(out), 0);
    t->count.assign(static_cast<size_t>(out), 0);
    t->weights.assign(static_cast<size_t>(out * t->stride), 0.0f);
    for (int64_t i = 0; i < out; ++i) {
        const double center = (static_cast<double>(i) + 0.5) * scale;  // in input pixel units
        int64_t lo = std::max<int64_t>(0, static_cast<int64_t>(std::floor(center - support)));
        int64_t hi = std::min<int64_t>(in, static_cast<int64_t>(std::ceil(center + support)) + 1);
        double wsum = 0;
        std::vector<double> w;
        int64_t first = -1;
        for (int64_t j = lo; j < hi; ++j) {
            double d = std::abs((static_cast<double>(j) + 0.5 - center) / support);
            double wj = d < 1.0 ? 1.0 - d : 0.0;
            if (wj <= 0.0) {
                if (first >= 0) break;
                continue;
            }
            if (first < 0) first = j;
            w.push_back(wj);
            wsum += wj;
        }
        if (first < 0) {  // cannot happen for in >= 1, but keep the output defined
            first = std::min<int64_t>(in - 1, static_cast<int64_t>(center));
            w = {1.0};
            wsum = 1.0;
        }
        QAT_ASSERT(static_cast<int64_t>(w.size()) <= t->stride, "resize taps overflow");
        t->start[static_cast<size_t>(i)] = first;
        t->count[static_cast<size_t>(i)] = static_cast<int64_t>(w.size());
        for (size_t k = 0; k < w.size(); ++k)
            t->weights[static_cast<size_t>(i * t->stride) + k] = static_cast<float>(w[k] / wsum);
    }
}

// Separable resize: rows first ([c,h,w] -> [c,h,ow]) into tmp, then columns.
void resize_with_taps(const float* src, int64_t c, int64_t h, int64_t w, float* dst, int64_t oh, int64_t ow,
                      const detail::ResizeTaps& th, const detail::ResizeTaps& tw, std::vector<float>* tmp) {
    tmp->resize(static_cast<size_t>(c * h * ow));
    float* mid = tmp->data();
    for (int64_t r = 0; r < c * h; ++r) {
        const float* in = src + r * w;
        float* o = mid + r * ow;
        for (int64_t x = 0; x < ow; ++x) {
            const float* wt = tw.weights.data() + x * tw.stride;
            const float* p = in + tw.start[static_cast<size_t>(x)];
            float acc = 0;
            for (int64_t k = 0; k < tw.count[static_cast<size_t>(x)]; ++k) acc += wt[k] * p[k];
            o[x] = acc;
        }
    }
    for (int64_t ch = 0; ch < c; ++ch) {
        const float* plane = mid + ch * h * ow;
        float* o = dst + ch * oh * ow;
        for (int64_t y = 0; y < oh; ++y) {
            const float* wt = th.weights.data() + y * th.stride;
            const int64_t s = th.start[static_cast<size_t>(y)], n = th.count[static_cast<size_t>(y)];
            float* orow = o + y * ow;
            std::fill(orow, orow + ow, 0.0f);
            for (int64_t k = 0; k < n; ++k) {
                const float* irow = plane + (s + k) * ow;
                const float wk = wt[k];
                for (int64_t x = 0; x < ow; ++x) orow[x] += wk * irow[x];
            }
        }
    }
}

}  // namespace

void resize_bilinear(const float* src, int64_t c, int64_t h, int64_t w, float* dst, int64_t oh, int64_t ow,
                     bool antialias) {
    detail::ResizeTaps th, tw;
    build_taps(&th, h, oh, antialias);
    build_taps(&tw, w, ow, antialias);
    std::vector<float> tmp;
    resize_with_taps(src, c, h, w, dst, oh, ow, th, tw, &tmp);
}

std::vector<int64_t> resize_output_size(const std::vector<int64_t>& resize, int64_t h, int64_t w) {
    if (resize.size() == 2) return {resize[0], resize[1]};
    if (resize.size() != 1 || h <= 0 || w <= 0) return {h, w};
    const int64_t s = resize[0];
    if (h <= w) return {s, std::max<int64_t>(1, s * w / h)};
    return {std::max<int64_t>(1, s * h / w), s};
}

int64_t center_crop_offset(int64_t size, int64_t crop) {
    // round((size - crop) / 2) with Python's ties-to-even, as torchvision computes it.
    int64_t d = size - crop;
    int64_t half = d / 2;
    if (d % 2 != 0 && half % 2 != 0) ++half;  // x.5 rounds to the even neighbour
    return half;
}

// ---- Preprocessor ---------------------------------------------------------------------------------

Result<Preprocessor> Preprocessor::create(const Preprocess& p, const std::vector<int64_t>& sample_dims,
                                          DataType sample_dtype) {
    QAT_CHECK(sample_dtype == DataType::kUint8 || sample_dtype == DataType::kFloat32, "samples of type ",
              dtype_name(sample_dtype), " cannot be preprocessed (expected u8 or f32)");
    QAT_CHECK(std::isfinite(p.scale), "preprocess scale must be finite, got ", p.scale);
    for (float m : p.mean) QAT_CHECK(std::isfinite(m), "preprocess mean must be finite, got ", m);
    for (float s : p.std) QAT_CHECK(std::isfinite(s) && s > 0, "preprocess std must be positive, got ", s);
    QAT_CHECK(p.resize.size() <= 2, "resize takes S or HxW, got ", p.resize.size(), " values");
    QAT_CHECK(p.crop.size() <= 2, "crop takes S or HxW, got ", p.crop.size(), " values");
    for (int64_t v : p.resize) QAT_CHECK(v > 0, "resize sizes must be positive, got ", v);
    for (int64_t v : p.crop) QAT_CHECK(v > 0, "crop sizes must be positive, got ", v);
    const std::string data_desc = detail::sample_desc(sample_dtype, sample_dims);

    Preprocessor pre;
    pre.p_ = p;
    pre.in_dims_ = sample_dims;
    pre.image_ = sample_dims.size() == 3;
    if (!pre.image_) {
        const char* need = p.to_rgb                    ? "to_rgb"
                           : !p.resize.empty()         ? "resize"
                           : !p.crop.empty()           ? "crop"
                           : p.layout == Layout::kNHWC ? "layout NHWC"
                                                       : nullptr;
        if (need) return invalid_argument(need, " needs image samples [C,H,W], the data gives ", data_desc);
        QAT_CHECK(p.mean.size() <= 1 && p.std.size() <= 1,
                  "per-channel mean/std need image samples [C,H,W], the data gives ", data_desc,
                  ": give a single value");
        for (int64_t d : sample_dims) QAT_CHECK(d >= 0, "samples ", data_desc, " have no fixed size");
        pre.in_c_ = pre.out_c_ = 1;
        pre.out_dims_ = sample_dims;
    } else {
        pre.in_c_ = sample_dims[0];
        QAT_CHECK(pre.in_c_ > 0, "samples ", data_desc, " have no channels");
        if (p.to_rgb)
            QAT_CHECK(pre.in_c_ == 1 || pre.in_c_ == 3, "to_rgb needs 1-channel (or 3-channel) images, the data gives ",
                      data_desc);
        pre.out_c_ = p.to_rgb ? 3 : pre.in_c_;
        for (const auto* v : {&p.mean, &p.std}) {
            if (v->size() > 1 && static_cast<int64_t>(v->size()) != pre.out_c_)
                return invalid_argument("preprocess ", v == &p.mean ? "mean" : "std", " has ", v->size(),
                                        " values but the data has ", pre.out_c_, " channel", pre.out_c_ == 1 ? "" : "s",
                                        " (", data_desc, pre.out_c_ == 1 && v->size() == 3 ? "; use to_rgb?" : "", ")");
        }
        std::vector<int64_t> hw = {sample_dims[1], sample_dims[2]};
        if (!p.resize.empty()) hw = resize_output_size(p.resize, hw[0], hw[1]);
        if (!p.crop.empty()) {
            std::vector<int64_t> c = p.crop.size() == 1 ? std::vector<int64_t>{p.crop[0], p.crop[0]} : p.crop;
            if (hw[0] >= 0 && hw[1] >= 0 && (c[0] > hw[0] || c[1] > hw[1]))
                return invalid_argument("crop ", c[0], "x", c[1], " is larger than the ", hw[0], "x", hw[1], " image",
                                        p.resize.empty() ? "" : " after resize", " (data ", data_desc, ")");
            hw = c;
        }
        if (hw[0] < 0 || hw[1] < 0)
            return invalid_argument("the images differ in size (", data_desc,
                                    "): give a crop, or a resize to HxW, so that every sample has one shape");
        pre.out_dims_ = p.layout == Layout::kNCHW ? std::vector<int64_t>{pre.out_c_, hw[0], hw[1]}
                                                  : std::vector<int64_t>{hw[0], hw[1], pre.out_c_};
    }
    pre.out_numel_ = numel_of(pre.out_dims_);
    pre.mul_.resize(static_cast<size_t>(pre.out_c_));
    pre.add_.resize(static_cast<size_t>(pre.out_c_));
    for (int64_t c = 0; c < pre.out_c_; ++c) {
        float m = p.mean.empty() ? 0.0f : p.mean.size() == 1 ? p.mean[0] : p.mean[static_cast<size_t>(c)];
        float s = p.std.empty() ? 1.0f : p.std.size() == 1 ? p.std[0] : p.std[static_cast<size_t>(c)];
        // (x * scale - m) / s == x * (scale / s) + (-m / s): one multiply-add per element.
        pre.mul_[static_cast<size_t>(c)] = p.scale / s;
        pre.add_[static_cast<size_t>(c)] = -m / s;
    }
    return pre;
}

namespace {

// Final stage: window (crop + augmentation offsets, flip), affine, layout. T is u8 or float.
template <typename T>
void write_output(const T* src, int64_t in_c, int64_t sh, int64_t sw, int64_t cy0, int64_t cx0, int64_t ch, int64_t cw,
                  int64_t oy, int64_t ox, bool flip, int64_t out_c, const float* mul, const float* add, Layout layout,
                  float* dst) {
    const bool shifted = oy != 0 || ox != 0;
    for (int64_t oc = 0; oc < out_c; ++oc) {
        const int64_t ic = in_c == 1 ? 0 : oc;
        const float m = mul[oc], a = add[oc];
        const T* plane = src + ic * sh * sw;
        for (int64_t y = 0; y < ch; ++y) {
            const int64_t wy = y + oy;
            float* out_row = layout == Layout::kNCHW ? dst + (oc * ch + y) * cw : dst + y * cw * out_c + oc;
            const int64_t step = layout == Layout::kNCHW ? 1 : out_c;
            if (wy < 0 || wy >= ch) {  // a padding row: raw value 0
                for (int64_t x = 0; x < cw; ++x) out_row[x * step] = a;
                continue;
            }
            const T* row = plane + (cy0 + wy) * sw + cx0;
            if (!shifted && !flip) {
                if (step == 1) {
                    for (int64_t x = 0; x < cw; ++x) out_row[x] = static_cast<float>(row[x]) * m + a;
                } else {
                    for (int64_t x = 0; x < cw; ++x) out_row[x * step] = static_cast<float>(row[x]) * m + a;
                }
                continue;
            }
            for (int64_t x = 0; x < cw; ++x) {
                const int64_t wx = (flip ? cw - 1 - x : x) + ox;
                out_row[x * step] = (wx < 0 || wx >= cw) ? a : static_cast<float>(row[wx]) * m + a;
            }
        }
    }
}

}  // namespace

Status Preprocessor::run(const Tensor& sample, float* dst, const Augment* aug, Rng* rng) {
    const DataType t = sample.dtype();
    QAT_CHECK(t == DataType::kUint8 || t == DataType::kFloat32, "sample of type ", dtype_name(t),
              " cannot be preprocessed (expected u8 or f32)");
    QAT_ASSERT(!(aug && aug->enabled()) || rng != nullptr, "augmentation without an Rng");
    if (!image_) {
        QAT_CHECK(sample.dims() == in_dims_, "sample has dims ", dims_to_string(sample.dims()), ", expected ",
                  dims_to_string(in_dims_));
        const float m = mul_[0], a = add_[0];
        const int64_t n = sample.numel();
        if (t == DataType::kUint8) {
            const uint8_t* s = sample.data<uint8_t>();
            for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(s[i]) * m + a;
        } else {
            const float* s = sample.data<float>();
            for (int64_t i = 0; i < n; ++i) dst[i] = s[i] * m + a;
        }
        return OkStatus();
    }
    QAT_CHECK(sample.rank() == 3 && sample.dim(0) == in_c_, "sample has dims ", dims_to_string(sample.dims()),
              ", expected [", in_c_, ",H,W]");
    QAT_CHECK((in_dims_[1] < 0 || sample.dim(1) == in_dims_[1]) && (in_dims_[2] < 0 || sample.dim(2) == in_dims_[2]),
              "sample has dims ", dims_to_string(sample.dims()), ", expected ", dims_to_string(in_dims_));
    int64_t sh = sample.dim(1), sw = sample.dim(2);
    QAT_CHECK(sh > 0 && sw > 0, "empty image ", dims_to_string(sample.dims()));

    const void* src = sample.raw_data();
    bool src_f32 = t == DataType::kFloat32;
    if (!p_.resize.empty()) {
        std::vector<int64_t> r = resize_output_size(p_.resize, sh, sw);
        const float* in;
        if (src_f32) {
            in = sample.data<float>();
        } else {
            tmp_.resize(static_cast<size_t>(sample.numel()));
            const uint8_t* s = sample.data<uint8_t>();
            for (int64_t i = 0; i < sample.numel(); ++i) tmp_[static_cast<size_t>(i)] = s[i];
            in = tmp_.data();
        }
        build_taps(&taps_h_, sh, r[0], p_.antialias);
        build_taps(&taps_w_, sw, r[1], p_.antialias);
        resized_.resize(static_cast<size_t>(in_c_ * r[0] * r[1]));
        resize_with_taps(in, in_c_, sh, sw, resized_.data(), r[0], r[1], taps_h_, taps_w_, &mid_);
        src = resized_.data();
        src_f32 = true;
        sh = r[0];
        sw = r[1];
    }
    int64_t ch = sh, cw = sw;
    if (!p_.crop.empty()) {
        ch = p_.crop[0];
        cw = p_.crop.size() == 2 ? p_.crop[1] : p_.crop[0];
        QAT_CHECK(ch <= sh && cw <= sw, "crop ", ch, "x", cw, " is larger than the ", sh, "x", sw, " image",
                  p_.resize.empty() ? "" : " after resize");
    }
    const int64_t out_h = p_.layout == Layout::kNCHW ? out_dims_[1] : out_dims_[0];
    const int64_t out_w = p_.layout == Layout::kNCHW ? out_dims_[2] : out_dims_[1];
    QAT_CHECK(ch == out_h && cw == out_w, "image of ", sh, "x", sw, " gives ", ch, "x", cw, " samples, expected ",
              out_h, "x", out_w, ": give a crop or a resize to HxW");
    const int64_t cy0 = center_crop_offset(sh, ch), cx0 = center_crop_offset(sw, cw);
    int64_t oy = 0, ox = 0;
    bool flip = false;
    if (aug && aug->random_crop && aug->padding > 0) {
        oy = static_cast<int64_t>(rng->uniform(static_cast<uint64_t>(2 * aug->padding + 1))) - aug->padding;
        ox = static_cast<int64_t>(rng->uniform(static_cast<uint64_t>(2 * aug->padding + 1))) - aug->padding;
    }
    if (aug && aug->hflip) flip = rng->bernoulli(0.5);
    if (src_f32)
        write_output(static_cast<const float*>(src), in_c_, sh, sw, cy0, cx0, ch, cw, oy, ox, flip, out_c_, mul_.data(),
                     add_.data(), p_.layout, dst);
    else
        write_output(static_cast<const uint8_t*>(src), in_c_, sh, sw, cy0, cx0, ch, cw, oy, ox, flip, out_c_,
                     mul_.data(), add_.data(), p_.layout, dst);
    return OkStatus();
}

// ---- augmentation on float images ------------------------------------------------------------

void augment_image(float* image, int64_t c, int64_t h, int64_t w, Layout layout, const Augment& aug, float fill,
                   Rng& rng, std::vector<float>* scratch) {
    int64_t oy = 0, ox = 0;
    if (aug.random_crop && aug.padding > 0) {
        oy = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(2 * aug.padding + 1))) - aug.padding;
        ox = static_cast<int64_t>(rng.uniform(static_cast<uint64_t>(2 * aug.padding + 1))) - aug.padding;
    }
    const bool flip = aug.hflip && rng.bernoulli(0.5);
    if (oy == 0 && ox == 0 && !flip) return;
    const size_t n = static_cast<size_t>(c * h * w);
    scratch->assign(image, image + n);
    const float* src = scratch->data();
    for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x) {
                const int64_t sy = y + oy, sx = (flip ? w - 1 - x : x) + ox;
                const bool in = sy >= 0 && sy < h && sx >= 0 && sx < w;
                const int64_t di = layout == Layout::kNCHW ? (ch * h + y) * w + x : (y * w + x) * c + ch;
                const int64_t si = layout == Layout::kNCHW ? (ch * h + sy) * w + sx : (sy * w + sx) * c + ch;
                image[di] = in ? src[si] : fill;
            }
}

Status augment_batch(Tensor* batch, Layout layout, const Augment& aug, float fill, Rng& rng) {
    QAT_CHECK(batch->dtype() == DataType::kFloat32 && batch->rank() == 4, "augment_batch needs a float32 [B,C,H,W] or ",
              "[B,H,W,C] batch, got ", batch->desc());
    const int64_t b = batch->dim(0);
    const int64_t c = layout == Layout::kNCHW ? batch->dim(1) : batch->dim(3);
    const int64_t h = layout == Layout::kNCHW ? batch->dim(2) : batch->dim(1);
    const int64_t w = layout == Layout::kNCHW ? batch->dim(3) : batch->dim(2);
    std::vector<float> scratch;
    float* p = batch->data<float>();
    for (int64_t i = 0; i < b; ++i) augment_image(p + i * c * h * w, c, h, w, layout, aug, fill, rng, &scratch);
    return OkStatus();
}

// ---- parsing ---------------------------------------------------------------------------------

Result<std::vector<float>> parse_float_list(const std::string& s, const std::string& flag) {
    std::vector<float> out;
    size_t start = 0;
    if (s.empty()) return invalid_argument(flag, ": empty value (expected a number or a comma list)");
    while (start <= s.size()) {
        size_t end = s.find(',', start);
        if (end == std::string::npos) end = s.size();
        std::string item = s.substr(start, end - start);
        char* stop = nullptr;
        float v = std::strtof(item.c_str(), &stop);
        if (item.empty() || stop != item.c_str() + item.size() || !std::isfinite(v))
            return invalid_argument(flag, ": '", item, "' is not a number (in '", s, "')");
        out.push_back(v);
        start = end + 1;
    }
    return out;
}

Result<std::vector<int64_t>> parse_size(const std::string& s, const std::string& flag) {
    std::string t = s;
    std::replace(t.begin(), t.end(), 'x', ',');
    std::replace(t.begin(), t.end(), 'X', ',');
    std::vector<int64_t> out;
    size_t start = 0;
    while (start <= t.size()) {
        size_t end = t.find(',', start);
        if (end == std::string::npos) end = t.size();
        std::string item = t.substr(start, end - start);
        char* stop = nullptr;
        long long v = std::strtoll(item.c_str(), &stop, 10);
        if (item.empty() || stop != item.c_str() + item.size() || v <= 0 || v > (1 << 20))
            return invalid_argument(flag, ": '", s, "' is not a size (expected S, HxW or H,W with positive integers)");
        out.push_back(v);
        start = end + 1;
    }
    if (out.size() > 2) return invalid_argument(flag, ": '", s, "' has ", out.size(), " numbers (expected S or HxW)");
    return out;
}

Result<float> parse_scale(const std::string& s, const std::string& flag) {
    size_t slash = s.find('/');
    if (slash == std::string::npos) {
        QAT_ASSIGN_OR_RETURN(auto v, parse_float_list(s, flag));
        if (v.size() != 1) return invalid_argument(flag, ": '", s, "' is not a single number");
        return v[0];
    }
    QAT_ASSIGN_OR_RETURN(auto num, parse_float_list(s.substr(0, slash), flag));
    QAT_ASSIGN_OR_RETURN(auto den, parse_float_list(s.substr(slash + 1), flag));
    if (num.size() != 1 || den.size() != 1 || den[0] == 0.0f)
        return invalid_argument(flag, ": '", s, "' is not a number or a fraction like 1/255");
    return num[0] / den[0];
}

Result<Layout> parse_layout(const std::string& s) {
    std::string v = detail::to_lower(s);
    if (v == "nchw") return Layout::kNCHW;
    if (v == "nhwc") return Layout::kNHWC;
    return invalid_argument("unknown layout '", s, "' (expected NCHW or NHWC)");
}

}  // namespace qat::data
