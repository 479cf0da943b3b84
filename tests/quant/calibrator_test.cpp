// Calibrators on analytic data, against values computed independently here: exact sample
// percentiles (sorting), a brute-force MSE search over the raw samples with ONNX fake
// quantization, and KL divergences of tiny histograms worked out by hand.
#include "quant/calibrator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/qmath.h"
#include "quant/histogram.h"
#include "quant/observer.h"

namespace qat::quant {
namespace {

// N(0,1) samples (Box-Muller on mt19937: portable), plus `outliers` values of +-outlier_value.
std::vector<float> gaussian_with_outliers(size_t n, int outliers, float outlier_value, uint32_t seed) {
    std::mt19937 rng(seed);
    auto u01 = [&] { return (static_cast<double>(rng()) + 0.5) / 4294967296.0; };
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) {
        double r = std::sqrt(-2.0 * std::log(u01())), th = 2.0 * M_PI * u01();
        v[i] = static_cast<float>(r * std::cos(th));
    }
    for (int k = 0; k < outliers; ++k) v[static_cast<size_t>(k) * 997 % n] = (k % 2 ? -1.0f : 1.0f) * outlier_value;
    return v;
}

std::vector<float> uniform(size_t n, float lo, float hi, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<float> v(n);
    for (auto& x : v) x = lo + (hi - lo) * static_cast<float>((static_cast<double>(rng()) + 0.5) / 4294967296.0);
    return v;
}

TensorObserver observe(const std::vector<float>& v, size_t batches = 8) {
    TensorObserver o;
    size_t per = (v.size() + batches - 1) / batches;
    for (size_t s = 0; s < v.size(); s += per)
        o.update(v.data() + s, static_cast<int64_t>(std::min(per, v.size() - s)));
    return o;
}

float exact_max_abs(const std::vector<float>& v) {
    float m = 0;
    for (float x : v) m = std::max(m, std::fabs(x));
    return m;
}

// Mean squared error of ONNX QuantizeLinear -> DequantizeLinear (int8, zero point 0) with
// scale t / 127 over the raw samples.
double raw_mse(const std::vector<float>& v, double t) {
    float s = static_cast<float>(t / 127.0);
    double e = 0;
    for (float x : v) {
        float q = qmath::dequantize<int8_t>(qmath::quantize<int8_t>(x, s, 0), s, 0);
        e += (static_cast<double>(x) - q) * (static_cast<double>(x) - q);
    }
    return e / static_cast<double>(v.size());
}

// Brute force: coarse grid, then a fine grid around the coarse winner.
double brute_force_mse_threshold(const std::vector<float>& v, double lo, double hi) {
    double best_t = lo, best = raw_mse(v, lo);
    double step = (hi - lo) / 400;
    for (double t = lo; t <= hi; t += step) {
        double e = raw_mse(v, t);
        if (e < best) best = e, best_t = t;
    }
    double c = best_t;
    for (double t = std::max(lo, c - step); t <= c + step; t += step / 50) {
        double e = raw_mse(v, t);
        if (e < best) best = e, best_t = t;
    }
    return best_t;
}

// ---- histogram --------------------------------------------------------------------------

TEST(Histogram, GrowthByDoublingEqualsDirectBinning) {
    // Batches with growing max force several doublings; the result must equal binning all the
    // data at once with the final width (merging pairs of bins is exact).
    std::vector<float> all;
    Histogram h(64);
    for (int b = 0; b < 6; ++b) {
        std::vector<float> batch =
            uniform(1000, -std::pow(3.0f, static_cast<float>(b)), std::pow(3.0f, static_cast<float>(b)), 10 + b);
        h.add(batch.data(), static_cast<int64_t>(batch.size()));
        all.insert(all.end(), batch.begin(), batch.end());
    }
    EXPECT_GT(h.growths(), 3);
    ASSERT_GT(h.width(), 0.0);
    std::vector<int64_t> direct(64, 0);
    for (float x : all) {
        int64_t b = static_cast<int64_t>(std::fabs(static_cast<double>(x)) * (1.0 / h.width()));
        direct[static_cast<size_t>(std::min<int64_t>(b, 63))]++;
    }
    EXPECT_EQ(h.counts(), direct);
    EXPECT_EQ(h.total(), static_cast<int64_t>(all.size()));
    EXPECT_FLOAT_EQ(static_cast<float>(h.max_abs()), exact_max_abs(all));
    // The data never occupies fewer than half the bins.
    EXPECT_GT(h.used_bins(), 32);
    EXPECT_LE(h.max_abs(), h.range());
}

TEST(Histogram, ZerosBeforeFirstWidthAndNonFinite) {
    Histogram h(16);
    std::vector<float> zeros(10, 0.0f);
    h.add(zeros.data(), 10);
    EXPECT_EQ(h.width(), 0.0);
    // The range ends a hair above the first max (2.0), so use 1.1 (bin 8.8 with width 2/16)
    // rather than a value on a bin edge.
    std::vector<float> v = {1.1f, -2.0f, NAN, INFINITY, 0.0f};
    EXPECT_EQ(h.add(v.data(), 5), 2);
    EXPECT_EQ(h.total(), 13);
    EXPECT_EQ(h.counts()[0], 11);  // 10 + one more zero
    EXPECT_EQ(h.counts()[8], 1);   // 1.1 with width 2/16
    EXPECT_EQ(h.counts()[15], 1);  // 2.0 = range goes to the last bin
    EXPECT_DOUBLE_EQ(h.max_abs(), 2.0);
}

TEST(Histogram, MergeMatchesSingleHistogram) {
    std::vector<float> a = uniform(5000, -1, 1, 1), b = uniform(5000, -7, 7, 2);
    Histogram ha(128), hb(128), hall(128);
    ha.add(a.data(), 5000);
    hb.add(b.data(), 5000);
    hall.add(a.data(), 5000);
    hall.add(b.data(), 5000);
    // hb's width is not a power-of-two multiple of ha's: the general path re-bins by centres,
    // which may move a count by one bin; totals and max are exact.
    Histogram m = ha;
    m.merge(hb);
    EXPECT_EQ(m.total(), 10000);
    EXPECT_DOUBLE_EQ(m.max_abs(), hall.max_abs());
    // Same first batch then doubling: exact.
    Histogram h1(128), h2(128);
    h1.add(a.data(), 2500);
    h2.add(a.data(), 2500);
    h1.add(b.data(), 2500);
    Histogram h12 = h2;
    h12.merge(h1);
    Histogram ref(128);
    ref.add(a.data(), 2500);
    ref.add(b.data(), 2500);
    ref.add(a.data(), 2500);
    EXPECT_EQ(h12.counts(), ref.counts());
}

TEST(Observer, TracksMinMaxAndMovingAverage) {
    ObserverOptions o;
    o.averaging_constant = 0.5;
    TensorObserver ob(o);
    std::vector<float> b1 = {-1, 0.5}, b2 = {3, -0.25}, b3 = {2, 1};
    ob.update(b1.data(), 2);
    ob.update(b2.data(), 2);
    ob.update(b3.data(), 2);
    EXPECT_EQ(ob.batches(), 3);
    EXPECT_DOUBLE_EQ(ob.min(), -1.0);
    EXPECT_DOUBLE_EQ(ob.max(), 3.0);
    EXPECT_DOUBLE_EQ(ob.amax(), 3.0);
    // ema: 1 -> 1 + .5 (3 - 1) = 2 -> 2 + .5 (2 - 2) = 2
    EXPECT_DOUBLE_EQ(ob.moving_average_amax(), 2.0);
    CalibratorOptions c;
    c.moving_average = true;
    EXPECT_FLOAT_EQ(*compute_amax(ob, c), 2.0f);
    c.moving_average = false;
    EXPECT_FLOAT_EQ(*compute_amax(ob, c), 3.0f);
}

TEST(Observer, ValidRowsAndDtypes) {
    TensorObserver ob;
    Tensor t = Tensor::from_vector<float>({3, 2}, {1, -2, 3, 4, 100, 100});
    ASSERT_TRUE(ob.update(t, 2).ok());  // the padded third row is not seen
    EXPECT_DOUBLE_EQ(ob.amax(), 4.0);
    EXPECT_EQ(ob.count(), 4);
    Tensor i = Tensor::from_vector<int64_t>({2}, {1, 2});
    Status s = ob.update(i);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("i64"), std::string::npos) << s.message();
    TensorObserver empty;
    EXPECT_FALSE(compute_amax(empty, {}).ok());
}

// ---- percentile --------------------------------------------------------------------------

TEST(Percentile, MatchesExactSamplePercentile) {
    std::vector<float> v = gaussian_with_outliers(200000, 20, 40.0f, 7);
    TensorObserver ob = observe(v);
    std::vector<float> a(v.size());
    for (size_t i = 0; i < v.size(); ++i) a[i] = std::fabs(v[i]);
    std::sort(a.begin(), a.end());
    for (double p : {99.0, 99.9, 99.99}) {
        // The k-th smallest with k = ceil(p% of N) (1-based); the epsilon keeps 99.99% of
        // 200000 at 199980 despite binary rounding.
        double exact = a[static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(a.size()) - 1e-6)) - 1];
        float got = amax_percentile(ob.histogram(), p);
        // Interpolation inside one bin: within one bin width of the order statistic.
        EXPECT_NEAR(got, exact, ob.histogram().width() * 1.01) << "p=" << p;
    }
    EXPECT_FLOAT_EQ(amax_percentile(ob.histogram(), 100.0), exact_max_abs(v));
    CalibratorOptions c;
    c.method = CalibMethod::kPercentile;
    c.percentile = 0.0;
    EXPECT_FALSE(compute_amax(ob, c).ok());
    c.percentile = 100.5;
    EXPECT_FALSE(compute_amax(ob, c).ok());
}

// ---- the four methods on analytic distributions ------------------------------------------

TEST(Calibrators, UniformDataAllMethodsNearTheMax) {
    // Uniform data has no tail to cut: clipping only loses, so every method stays near the max.
    std::vector<float> v = uniform(200000, -3.0f, 3.0f, 3);
    TensorObserver ob = observe(v);
    const float mx = exact_max_abs(v);
    for (CalibMethod m : {CalibMethod::kMax, CalibMethod::kPercentile, CalibMethod::kEntropy, CalibMethod::kMse}) {
        CalibratorOptions c;
        c.method = m;
        auto a = compute_amax(ob, c);
        ASSERT_TRUE(a.ok()) << a.status().to_string();
        EXPECT_LE(*a, mx * 1.0001f) << calib_method_name(m);
        EXPECT_GE(*a, mx * 0.97f) << calib_method_name(m);
    }
}

// With k outliers at +-V among N samples of N(0,1), clipping at t (well above the bulk) costs
// k (V - t)^2 / N and the int8 rounding step t / 127 costs (t / 127)^2 / 12 on every sample, so
// the MSE optimum is t* = k V c / (N + k c) with c = 12 * 127^2: the analytic oracle below.
double analytic_mse_threshold(double n, double k, double v) {
    const double c = 12.0 * 127.0 * 127.0;
    return k * v * c / (n + k * c);
}

TEST(Calibrators, GaussianWithOutliersClipsWellBelowTheMax) {
    // 4 outliers at +-100 in a million samples.
    std::vector<float> v = gaussian_with_outliers(1000000, 4, 100.0f, 11);
    TensorObserver ob = observe(v);
    const float mx = exact_max_abs(v);
    ASSERT_FLOAT_EQ(mx, 100.0f);
    CalibratorOptions c;
    c.method = CalibMethod::kMax;
    EXPECT_FLOAT_EQ(*compute_amax(ob, c), 100.0f);
    // Percentile (99.99) and entropy ignore four samples in a million: well below the
    // outliers, above the bulk of N(0,1).
    for (CalibMethod m : {CalibMethod::kPercentile, CalibMethod::kEntropy}) {
        c.method = m;
        float a = *compute_amax(ob, c);
        EXPECT_LT(a, 0.2f * mx) << calib_method_name(m);
        EXPECT_GT(a, 2.0f) << calib_method_name(m);
    }
    // MSE weighs the outliers by their squared error: it clips to the analytic optimum (43.6).
    c.method = CalibMethod::kMse;
    const double t = analytic_mse_threshold(1e6, 4, 100);
    EXPECT_NEAR(*compute_amax(ob, c), t, 0.03 * t);
    EXPECT_LT(*compute_amax(ob, c), 0.5f * mx);
}

TEST(Mse, MatchesBruteForceSearchOverRawSamples) {
    // One outlier at 100 in 400k samples: the optimum clips (an interior minimum, near 32.6).
    std::vector<float> v = gaussian_with_outliers(400000, 1, 100.0f, 5);
    TensorObserver ob = observe(v, 4);
    float ours = amax_mse(ob.histogram());
    double brute = brute_force_mse_threshold(v, 0.5, 100.0);
    EXPECT_LT(brute, 50.0);
    EXPECT_NEAR(brute, analytic_mse_threshold(400000, 1, 100), 2.0);
    double e_ours = raw_mse(v, ours), e_brute = raw_mse(v, brute);
    // The histogram search must find a threshold as good as the exhaustive one (1% slack for
    // the histogram's bin resolution) and close to it.
    EXPECT_LE(e_ours, e_brute * 1.01) << "ours " << ours << " brute " << brute;
    EXPECT_NEAR(ours, brute, 0.1 * brute);
    // And the closed-form histogram MSE agrees with the raw MSE at that threshold.
    EXPECT_NEAR(histogram_mse(ob.histogram(), ours), e_ours, 0.05 * e_ours);
}

TEST(Mse, NearlyKeepsTheMaxWhenOutliersWeighMore) {
    // 6 outliers at +-30 in 30000: clipping them costs more than the coarser step, so the
    // optimum (29.24) sits just below the max; brute force and ours agree.
    std::vector<float> v = gaussian_with_outliers(30000, 6, 30.0f, 5);
    TensorObserver ob = observe(v, 4);
    float ours = amax_mse(ob.histogram());
    double brute = brute_force_mse_threshold(v, 0.5, 30.0);
    EXPECT_LE(raw_mse(v, ours), raw_mse(v, brute) * 1.01);
    const double t = analytic_mse_threshold(30000, 6, 30);
    EXPECT_NEAR(ours, t, 0.02 * t);
    EXPECT_GT(ours, 0.9f * 30.0f);
}

TEST(Mse, UniformClosedFormOptimum) {
    // |x| uniform on [0, 1]: clipping at t costs the integral of (x - t)^2 over [t, 1], i.e.
    // (1 - t)^3 / 3; below t the rounding error is uniform on [-s/2, s/2] (s = t / 127), i.e.
    // s^2 / 12 per value, t * s^2 / 12 in all. The optimum of that model is found by a dense
    // scan here.
    std::vector<int64_t> counts(2048, 1000);
    Histogram h = Histogram::from_counts(counts, 1.0 / 2048, 1.0);
    auto model = [](double t) {
        double s = t / 127.0;
        return (1 - t) * (1 - t) * (1 - t) / 3.0 + t * s * s / 12.0;
    };
    double best_t = 0.5, best = model(0.5);
    for (double t = 0.5; t <= 1.0; t += 1e-6)
        if (model(t) < best) best = model(t), best_t = t;
    EXPECT_NEAR(amax_mse(h), best_t, 2.0 / 2048);
    EXPECT_NEAR(histogram_mse(h, best_t), best, 0.02 * best);
}

// ---- entropy -------------------------------------------------------------------------------

TEST(Entropy, HandWorkedExampleWithoutZeros) {
    // Histogram [8, 4, 2, 2], 2 quantized levels, no zero-bin tweak (no zeros: no smoothing).
    //  i=2: P = [8, 4+2+2] / 16 = [.5, .5];          Q = [8, 4] / 12
    //  i=3: P = [8, 4, 2+2] / 16 = [.5, .25, .25];    chunks {0}, {1,2}: Q = [8, 3, 3] / 14
    //  i=4: P = [8, 4, 2, 2] / 16;                    chunks {0,1}, {2,3}: Q = [6, 6, 2, 2] / 16
    EntropyOptions o;
    o.quant_bins = 2;
    o.zero_bin_as_neighbor = false;
    std::vector<int64_t> h = {8, 4, 2, 2};
    double kl2 = 0.5 * std::log(0.5 / (8.0 / 12)) + 0.5 * std::log(0.5 / (4.0 / 12));
    double kl3 = 0.5 * std::log(0.5 / (8.0 / 14)) + 2 * 0.25 * std::log(0.25 / (3.0 / 14));
    double kl4 = 0.5 * std::log(0.5 / (6.0 / 16)) + 0.25 * std::log(0.25 / (6.0 / 16)) +
                 2 * 0.125 * std::log(0.125 / (2.0 / 16));
    EXPECT_NEAR(entropy_divergence(h, 2, o), kl2, 1e-12);
    EXPECT_NEAR(entropy_divergence(h, 3, o), kl3, 1e-12);
    EXPECT_NEAR(entropy_divergence(h, 4, o), kl4, 1e-12);
    ASSERT_LT(kl3, kl2);
    ASSERT_LT(kl3, kl4);
    Histogram hist = Histogram::from_counts(h, 0.5, 2.0);
    auto divs = entropy_divergences(hist, o);
    ASSERT_EQ(divs.size(), 3u);
    EXPECT_EQ(divs[0].first, 2);
    EXPECT_EQ(divs[2].first, 4);
    // Minimum at i = 3: amax = 3 bins * 0.5.
    EXPECT_FLOAT_EQ(amax_entropy(hist, o), 1.5f);
}

TEST(Entropy, HandWorkedExampleWithSmoothing) {
    // Histogram [6, 0, 2, 4], 2 levels, eps = 1e-4.
    //  i=4: P = [6, 0, 2, 4]; Q: chunk {0,1} sums 6 over its one non-zero P bin, chunk {2,3}
    //       sums 6 over two: Q = [6, 0, 3, 3]. Smoothing: the zero gets eps, the three
    //       non-zeros give eps/3 each, so both still sum to 12.
    //  i=2: P = [6, 0+2+4]; Q = [6, 0] (chunk {1} has no count but P[1] > 0), smoothed
    //       Q = [6 - eps, eps].
    EntropyOptions o;
    o.quant_bins = 2;
    o.zero_bin_as_neighbor = false;
    std::vector<int64_t> h = {6, 0, 2, 4};
    const double e = 1e-4, e1 = e / 3;
    double kl4 = ((2 - e1) / 12) * std::log((2 - e1) / (3 - e1)) + ((4 - e1) / 12) * std::log((4 - e1) / (3 - e1));
    EXPECT_NEAR(entropy_divergence(h, 4, o), kl4, 1e-12);
    double kl2 = 0.5 * std::log(0.5 / ((6 - e) / 6)) + 0.5 * std::log(0.5 / (e / 6));
    EXPECT_NEAR(entropy_divergence(h, 2, o), kl2, 1e-9);
    // The zero-bin tweak replaces h[0] by h[1] before the search: [0, 0, 2, 4] here.
    o.zero_bin_as_neighbor = true;
    Histogram hist = Histogram::from_counts(h, 1.0, 4.0);
    auto divs = entropy_divergences(hist, o);
    ASSERT_FALSE(divs.empty());
    EXPECT_NEAR(divs.back().second, entropy_divergence({0, 0, 2, 4}, 4, o), 1e-15);
}

TEST(Entropy, FewBinsMeansMax) {
    // Data that occupies no more bins than int8 has levels is never clipped.
    std::vector<int64_t> h(2048, 0);
    for (int i = 0; i < 100; ++i) h[static_cast<size_t>(i)] = 10;
    Histogram hist = Histogram::from_counts(h, 0.01, 0.995);
    EXPECT_FLOAT_EQ(amax_entropy(hist), 0.995f);
}

TEST(Methods, ParseAndNames) {
    EXPECT_EQ(*parse_calib_method("entropy"), CalibMethod::kEntropy);
    EXPECT_EQ(*parse_calib_method("mse"), CalibMethod::kMse);
    auto bad = parse_calib_method("kl");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("max, percentile, entropy, mse"), std::string::npos);
}

}  // namespace
}  // namespace qat::quant
