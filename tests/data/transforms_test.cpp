#include "data/transforms.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace qat;
using namespace qat::data;

namespace {

Tensor u8_image(int64_t c, int64_t h, int64_t w) {
    Tensor t = Tensor::empty(DataType::kUint8, {c, h, w});
    for (int64_t i = 0; i < t.numel(); ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
    return t;
}

std::vector<float> run(const Preprocess& p, const Tensor& sample, const Augment* aug = nullptr, Rng* rng = nullptr) {
    auto pre = Preprocessor::create(p, sample.dims(), sample.dtype());
    EXPECT_TRUE(pre.ok()) << pre.status().to_string();
    if (!pre.ok()) return {};
    std::vector<float> out(static_cast<size_t>(pre->output_numel()));
    Status s = pre->run(sample, out.data(), aug, rng);
    EXPECT_TRUE(s.ok()) << s.to_string();
    return out;
}

}  // namespace

TEST(Preprocess, ScaleMeanStdPerChannel) {
    Tensor img = u8_image(3, 2, 3);
    Preprocess p;
    p.scale = 1.0f / 255.0f;
    p.mean = {0.485f, 0.456f, 0.406f};
    p.std = {0.229f, 0.224f, 0.225f};
    auto out = run(p, img);
    ASSERT_EQ(out.size(), 18u);
    for (int c = 0; c < 3; ++c)
        for (int i = 0; i < 6; ++i) {
            double x = img.data<uint8_t>()[c * 6 + i];
            double want = (x / 255.0 - p.mean[static_cast<size_t>(c)]) / p.std[static_cast<size_t>(c)];
            EXPECT_NEAR(out[static_cast<size_t>(c * 6 + i)], want, 1e-5) << c << "," << i;
        }
}

TEST(Preprocess, NhwcAndToRgb) {
    Tensor img = u8_image(1, 2, 3);
    Preprocess p;
    p.to_rgb = true;
    p.layout = Layout::kNHWC;
    p.mean = {1.0f, 2.0f, 3.0f};
    auto pre = Preprocessor::create(p, img.dims());
    ASSERT_TRUE(pre.ok()) << pre.status().to_string();
    EXPECT_EQ(pre->output_dims(), (std::vector<int64_t>{2, 3, 3}));
    auto out = run(p, img);
    for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x)
            for (int c = 0; c < 3; ++c)
                EXPECT_EQ(out[static_cast<size_t>((y * 3 + x) * 3 + c)], img.data<uint8_t>()[y * 3 + x] - (c + 1.0f));
}

TEST(Preprocess, CenterCropFollowsTorchvisionRounding) {
    // round((size - crop) / 2) with ties to even: 1.5 -> 2, 2.5 -> 2, 0.5 -> 0.
    EXPECT_EQ(center_crop_offset(7, 4), 2);
    EXPECT_EQ(center_crop_offset(9, 4), 2);
    EXPECT_EQ(center_crop_offset(5, 4), 0);
    EXPECT_EQ(center_crop_offset(8, 4), 2);
    EXPECT_EQ(center_crop_offset(4, 4), 0);
    Tensor img = u8_image(2, 6, 7);
    Preprocess p;
    p.crop = {3, 4};
    auto out = run(p, img);
    ASSERT_EQ(out.size(), 2u * 3 * 4);
    const int64_t oy = 2 /* round(1.5) */, ox = 2 /* round(1.5) */;
    for (int c = 0; c < 2; ++c)
        for (int y = 0; y < 3; ++y)
            for (int x = 0; x < 4; ++x)
                EXPECT_EQ(out[static_cast<size_t>((c * 3 + y) * 4 + x)],
                          img.data<uint8_t>()[(c * 6 + y + oy) * 7 + x + ox]);
}

TEST(Resize, OutputSizeRule) {
    EXPECT_EQ(resize_output_size({256}, 480, 640), (std::vector<int64_t>{256, 341}));  // 256 * 640 / 480 = 341.3
    EXPECT_EQ(resize_output_size({256}, 640, 480), (std::vector<int64_t>{341, 256}));
    EXPECT_EQ(resize_output_size({10}, 5, 5), (std::vector<int64_t>{10, 10}));
    EXPECT_EQ(resize_output_size({20, 30}, 5, 7), (std::vector<int64_t>{20, 30}));
}

// Enlarging is plain half-pixel bilinear: source x = (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75,
// 1.25, clamped at the border.
TEST(Resize, UpscaleIsHalfPixelBilinear) {
    const float src[2] = {10.0f, 30.0f};
    float dst[4];
    resize_bilinear(src, 1, 1, 2, dst, 1, 4);
    EXPECT_FLOAT_EQ(dst[0], 10.0f);
    EXPECT_FLOAT_EQ(dst[1], 15.0f);
    EXPECT_FLOAT_EQ(dst[2], 25.0f);
    EXPECT_FLOAT_EQ(dst[3], 30.0f);
    // 2-D: separable, so the corners and centre of a 2x2 -> 4x4 follow from the 1-D weights.
    const float s2[4] = {0.0f, 40.0f, 80.0f, 120.0f};
    float d2[16];
    resize_bilinear(s2, 1, 2, 2, d2, 4, 4);
    EXPECT_FLOAT_EQ(d2[0], 0.0f);
    EXPECT_FLOAT_EQ(d2[15], 120.0f);
    EXPECT_FLOAT_EQ(d2[1 * 4 + 1], 0.75f * (0.75f * 0 + 0.25f * 40) + 0.25f * (0.75f * 80 + 0.25f * 120));
}

// Shrinking 4 -> 2 with antialias: a triangle filter of radius 2 input pixels centred at 1.0 and
// 3.0 (PIL's BILINEAR) gives weights 0.75, 0.75, 0.25 (+ a tap outside the image), normalised:
// out0 = (3 x0 + 3 x1 + x2) / 7, out1 = (x1 + 3 x2 + 3 x3) / 7. Without antialias: pair averages.
TEST(Resize, DownscaleAntialiasWeights) {
    const float src[4] = {7.0f, 14.0f, 70.0f, 140.0f};
    float dst[2];
    resize_bilinear(src, 1, 1, 4, dst, 1, 2, /*antialias=*/true);
    EXPECT_NEAR(dst[0], (3 * 7.0 + 3 * 14.0 + 70.0) / 7.0, 1e-4);
    EXPECT_NEAR(dst[1], (14.0 + 3 * 70.0 + 3 * 140.0) / 7.0, 1e-4);
    resize_bilinear(src, 1, 1, 4, dst, 1, 2, /*antialias=*/false);
    EXPECT_NEAR(dst[0], (7.0 + 14.0) / 2, 1e-4);
    EXPECT_NEAR(dst[1], (70.0 + 140.0) / 2, 1e-4);
    // A constant image stays constant at any scale (weights sum to 1).
    std::vector<float> flat(3 * 37 * 53, 42.0f), out(3 * 10 * 9);
    resize_bilinear(flat.data(), 3, 37, 53, out.data(), 10, 9);
    for (float v : out) EXPECT_NEAR(v, 42.0f, 1e-4);
}

TEST(Preprocess, ResizeThenCropOnVaryingSizes) {
    Preprocess p;
    p.resize = {8};
    p.crop = {6};
    p.scale = 0.5f;
    auto pre = Preprocessor::create(p, {3, -1, -1});
    ASSERT_TRUE(pre.ok()) << pre.status().to_string();
    EXPECT_EQ(pre->output_dims(), (std::vector<int64_t>{3, 6, 6}));
    for (auto hw : std::vector<std::pair<int64_t, int64_t>>{{16, 20}, {9, 8}}) {
        Tensor img = u8_image(3, hw.first, hw.second);
        std::vector<float> out(static_cast<size_t>(pre->output_numel()));
        ASSERT_TRUE(pre->run(img, out.data()).ok());
        // Oracle: the standalone resize of the float image, then the crop window, times scale.
        auto rs = resize_output_size({8}, hw.first, hw.second);
        std::vector<float> f(static_cast<size_t>(img.numel())), r(static_cast<size_t>(3 * rs[0] * rs[1]));
        for (int64_t i = 0; i < img.numel(); ++i) f[static_cast<size_t>(i)] = img.data<uint8_t>()[i];
        resize_bilinear(f.data(), 3, hw.first, hw.second, r.data(), rs[0], rs[1]);
        int64_t oy = center_crop_offset(rs[0], 6), ox = center_crop_offset(rs[1], 6);
        for (int c = 0; c < 3; ++c)
            for (int y = 0; y < 6; ++y)
                for (int x = 0; x < 6; ++x)
                    ASSERT_NEAR(out[static_cast<size_t>((c * 6 + y) * 6 + x)],
                                0.5f * r[static_cast<size_t>((c * rs[0] + y + oy) * rs[1] + x + ox)], 1e-4);
    }
}

TEST(Preprocess, RejectsBadOptions) {
    struct Case {
        Preprocess p;
        std::vector<int64_t> dims;
        const char* expect;
    };
    auto with = [](auto f) {
        Preprocess p;
        f(p);
        return p;
    };
    std::vector<Case> cases = {
        {with([](Preprocess& p) {
             p.std = {0.5f, 0.0f, 1.0f};
         }),
         {3, 4, 4},
         "std must be positive"},
        {with([](Preprocess& p) {
             p.mean = {0.5f, 0.5f, 0.5f};
         }),
         {1, 4, 4},
         "use to_rgb"},
        {with([](Preprocess& p) { p.resize = {4}; }), {784}, "resize needs image samples"},
        {with([](Preprocess& p) { p.layout = Layout::kNHWC; }), {784}, "layout NHWC needs"},
        {with([](Preprocess& p) { p.crop = {5}; }), {3, 4, 4}, "crop 5x5 is larger than the 4x4 image"},
        {with([](Preprocess&) {}), {3, -1, -1}, "differ in size"},
        {with([](Preprocess& p) { p.resize = {8}; }), {3, -1, -1}, "differ in size"},
        {with([](Preprocess& p) { p.to_rgb = true; }), {4, 8, 8}, "to_rgb needs"},
        {with([](Preprocess& p) { p.resize = {0}; }), {3, 8, 8}, "positive"},
        {with([](Preprocess& p) { p.scale = NAN; }), {3, 8, 8}, "finite"},
    };
    for (const auto& c : cases) {
        auto r = Preprocessor::create(c.p, c.dims);
        ASSERT_FALSE(r.ok()) << c.expect;
        EXPECT_NE(r.status().message().find(c.expect), std::string::npos) << r.status().message();
    }
    // A sample of another size than announced.
    auto pre = Preprocessor::create(Preprocess{}, {1, 4, 4});
    ASSERT_TRUE(pre.ok());
    std::vector<float> out(16);
    Status s = pre->run(u8_image(1, 5, 4), out.data());
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("[1,5,4]"), std::string::npos) << s.message();
}

TEST(Preprocess, NonImageSamplesTakeScalarNormalisation) {
    Tensor row = Tensor::from_vector<float>({4}, {1, 2, 3, 4});
    Preprocess p;
    p.scale = 2.0f;
    p.mean = {1.0f};
    p.std = {4.0f};
    auto out = run(p, row);
    EXPECT_EQ(out, (std::vector<float>{0.25f, 0.75f, 1.25f, 1.75f}));
}

// Augmentation: every output pixel is either the shifted (and maybe mirrored) source or the
// padding value; the draws follow the documented order, so the test can recompute them.
TEST(Augment, RandomCropWithPaddingAndFlip) {
    Tensor img = u8_image(2, 5, 6);
    Preprocess p;
    p.mean = {1000.0f};  // padding (raw 0) becomes -1000, far from any pixel value
    Augment aug;
    aug.random_crop = true;
    aug.padding = 2;
    aug.hflip = true;
    int flips = 0, shifts = 0;
    for (uint64_t seed = 0; seed < 40; ++seed) {
        Rng rng(seed), mirror(seed);
        auto out = run(p, img, &aug, &rng);
        int64_t oy = static_cast<int64_t>(mirror.uniform(5)) - 2, ox = static_cast<int64_t>(mirror.uniform(5)) - 2;
        bool flip = mirror.bernoulli(0.5);
        flips += flip;
        shifts += (oy != 0 || ox != 0);
        for (int c = 0; c < 2; ++c)
            for (int y = 0; y < 5; ++y)
                for (int x = 0; x < 6; ++x) {
                    int64_t sy = y + oy, sx = (flip ? 5 - x : x) + ox;
                    float want = (sy < 0 || sy >= 5 || sx < 0 || sx >= 6)
                                     ? -1000.0f
                                     : img.data<uint8_t>()[(c * 5 + sy) * 6 + sx] - 1000.0f;
                    ASSERT_EQ(out[static_cast<size_t>((c * 5 + y) * 6 + x)], want) << "seed " << seed;
                }
        // Same seed, same result.
        Rng again(seed);
        EXPECT_EQ(run(p, img, &aug, &again), out);
    }
    EXPECT_GT(flips, 5);
    EXPECT_LT(flips, 35);
    EXPECT_GT(shifts, 20);
}

// The batch-level helper (for trainers) agrees with the per-sample one on NCHW and NHWC.
TEST(Augment, BatchHelperMatchesPerSample) {
    Augment aug;
    aug.random_crop = true;
    aug.padding = 1;
    aug.hflip = true;
    Tensor batch = Tensor::empty(DataType::kFloat32, {3, 2, 4, 4});
    for (int64_t i = 0; i < batch.numel(); ++i) batch.data<float>()[i] = static_cast<float>(i);
    Tensor orig = batch.clone();
    Rng rng(5);
    ASSERT_TRUE(augment_batch(&batch, Layout::kNCHW, aug, -1.0f, rng).ok());
    Rng mirror(5);
    for (int b = 0; b < 3; ++b) {
        int64_t oy = static_cast<int64_t>(mirror.uniform(3)) - 1, ox = static_cast<int64_t>(mirror.uniform(3)) - 1;
        bool flip = mirror.bernoulli(0.5);
        for (int c = 0; c < 2; ++c)
            for (int y = 0; y < 4; ++y)
                for (int x = 0; x < 4; ++x) {
                    int64_t sy = y + oy, sx = (flip ? 3 - x : x) + ox;
                    float want = (sy < 0 || sy >= 4 || sx < 0 || sx >= 4)
                                     ? -1.0f
                                     : orig.data<float>()[((b * 2 + c) * 4 + sy) * 4 + sx];
                    ASSERT_EQ(batch.data<float>()[((b * 2 + c) * 4 + y) * 4 + x], want);
                }
    }
    // NHWC: transposing the NCHW result must equal augmenting the transposed input.
    Tensor nhwc = Tensor::empty(DataType::kFloat32, {3, 4, 4, 2});
    for (int b = 0; b < 3; ++b)
        for (int c = 0; c < 2; ++c)
            for (int y = 0; y < 4; ++y)
                for (int x = 0; x < 4; ++x)
                    nhwc.data<float>()[((b * 4 + y) * 4 + x) * 2 + c] =
                        orig.data<float>()[((b * 2 + c) * 4 + y) * 4 + x];
    Rng rng2(5);
    ASSERT_TRUE(augment_batch(&nhwc, Layout::kNHWC, aug, -1.0f, rng2).ok());
    for (int b = 0; b < 3; ++b)
        for (int c = 0; c < 2; ++c)
            for (int y = 0; y < 4; ++y)
                for (int x = 0; x < 4; ++x)
                    ASSERT_EQ(nhwc.data<float>()[((b * 4 + y) * 4 + x) * 2 + c],
                              batch.data<float>()[((b * 2 + c) * 4 + y) * 4 + x]);
}

TEST(Parse, FlagHelpers) {
    EXPECT_EQ(*parse_float_list("0.5,0.25", "--mean"), (std::vector<float>{0.5f, 0.25f}));
    EXPECT_FALSE(parse_float_list("0.5,,1", "--mean").ok());
    auto bad = parse_float_list("0.5,abc", "--mean");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("--mean: 'abc'"), std::string::npos);
    EXPECT_EQ(*parse_size("224", "--crop"), (std::vector<int64_t>{224}));
    EXPECT_EQ(*parse_size("224x192", "--crop"), (std::vector<int64_t>{224, 192}));
    EXPECT_FALSE(parse_size("0", "--crop").ok());
    EXPECT_FALSE(parse_size("1x2x3", "--crop").ok());
    EXPECT_FALSE(parse_size("-4", "--crop").ok());
    EXPECT_FLOAT_EQ(*parse_scale("1/255", "--scale"), 1.0f / 255.0f);
    EXPECT_FLOAT_EQ(*parse_scale("0.5", "--scale"), 0.5f);
    EXPECT_FALSE(parse_scale("1/0", "--scale").ok());
    EXPECT_EQ(*parse_layout("nhwc"), Layout::kNHWC);
    EXPECT_FALSE(parse_layout("chw").ok());
    EXPECT_EQ(default_preprocess(DataType::kUint8).scale, 1.0f / 255.0f);
    EXPECT_TRUE(default_preprocess(DataType::kFloat32).is_identity());
}
