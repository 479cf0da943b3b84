#include "quant/calibrator.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "quant/name_match.h"

namespace qat::quant {

const char* calib_method_name(CalibMethod m) {
    switch (m) {
        case CalibMethod::kMax:
            return "max";
        case CalibMethod::kPercentile:
            return "percentile";
        case CalibMethod::kEntropy:
            return "entropy";
        case CalibMethod::kMse:
            return "mse";
    }
    return "?";
}

std::vector<std::string> calib_method_names() { return {"max", "percentile", "entropy", "mse"}; }

Result<CalibMethod> parse_calib_method(const std::string& s) {
    for (CalibMethod m : {CalibMethod::kMax, CalibMethod::kPercentile, CalibMethod::kEntropy, CalibMethod::kMse})
        if (s == calib_method_name(m)) return m;
    return invalid_argument("unknown calibration method '", s, "' (known: ", join(calib_method_names()), ")");
}

Status validate(const CalibratorOptions& o) {
    if (!(o.percentile > 0.0 && o.percentile <= 100.0))
        return invalid_argument("percentile must be in (0, 100], got ", o.percentile);
    if (o.entropy.quant_bins < 1) return invalid_argument("entropy quantized bins must be >= 1");
    if (o.entropy.stride < 1) return invalid_argument("entropy stride must be >= 1");
    if (!(o.entropy.smoothing_eps >= 0.0)) return invalid_argument("entropy smoothing must be >= 0");
    return OkStatus();
}

// ---- percentile ---------------------------------------------------------------------------

float amax_percentile(const Histogram& h, double percentile) {
    if (h.empty() || h.max_abs() <= 0.0) return static_cast<float>(h.max_abs());
    if (percentile >= 100.0) return static_cast<float>(h.max_abs());
    double target = percentile / 100.0 * static_cast<double>(h.total());
    // 99.99% of 200000 is 199980.00000000003 in binary: snap to the integer it stands for, so
    // the percentile is the order statistic a user computes by hand.
    if (double r = std::round(target); std::fabs(target - r) <= 1e-9 * std::max(1.0, target)) target = r;
    double cum = 0.0;
    const auto& c = h.counts();
    for (int64_t i = 0; i < h.bins(); ++i) {
        double n = static_cast<double>(c[static_cast<size_t>(i)]);
        if (n > 0.0 && cum + n >= target) {
            double frac = std::clamp((target - cum) / n, 0.0, 1.0);
            double a = (static_cast<double>(i) + frac) * h.width();
            return static_cast<float>(std::min(a, h.max_abs()));
        }
        cum += n;
    }
    return static_cast<float>(h.max_abs());
}

// ---- entropy ------------------------------------------------------------------------------

namespace {

// MXNet / ONNX Runtime smooth_distribution on raw counts. False when the non-zero entries
// cannot give back the mass (or there are none).
bool smooth(std::vector<double>& p, double eps) {
    size_t zeros = 0;
    for (double v : p)
        if (v == 0.0) ++zeros;
    size_t nonzeros = p.size() - zeros;
    if (nonzeros == 0) return false;
    if (zeros == 0 || eps == 0.0) return true;
    double eps1 = eps * static_cast<double>(zeros) / static_cast<double>(nonzeros);
    for (double& v : p) {
        if (v == 0.0) {
            v = eps;
        } else {
            v -= eps1;
            if (v <= 0.0) return false;
        }
    }
    return true;
}

std::vector<int64_t> search_counts(const Histogram& h, const EntropyOptions& o) {
    std::vector<int64_t> c = h.counts();
    if (o.zero_bin_as_neighbor && c.size() > 1) c[0] = c[1];
    return c;
}

}  // namespace

double entropy_divergence(const std::vector<int64_t>& h, int64_t i, const EntropyOptions& o) {
    const int64_t nq = o.quant_bins;
    const int64_t b = static_cast<int64_t>(h.size());
    if (i < 1 || i > b) return std::numeric_limits<double>::infinity();
    std::vector<double> p(static_cast<size_t>(i)), q(static_cast<size_t>(i), 0.0);
    for (int64_t j = 0; j < i; ++j) p[static_cast<size_t>(j)] = static_cast<double>(h[static_cast<size_t>(j)]);
    double outliers = 0.0;
    for (int64_t j = i; j < b; ++j) outliers += static_cast<double>(h[static_cast<size_t>(j)]);
    p[static_cast<size_t>(i - 1)] += outliers;
    const int64_t chunks = std::min(nq, i);
    for (int64_t k = 0; k < chunks; ++k) {
        int64_t s = k * i / chunks, e = (k + 1) * i / chunks;
        double sum = 0.0;
        int64_t nz = 0;
        for (int64_t j = s; j < e; ++j) {
            sum += static_cast<double>(h[static_cast<size_t>(j)]);
            if (p[static_cast<size_t>(j)] != 0.0) ++nz;
        }
        if (nz == 0) continue;
        for (int64_t j = s; j < e; ++j)
            if (p[static_cast<size_t>(j)] != 0.0) q[static_cast<size_t>(j)] = sum / static_cast<double>(nz);
    }
    if (!smooth(p, o.smoothing_eps) || !smooth(q, o.smoothing_eps)) return std::numeric_limits<double>::infinity();
    double sp = 0.0, sq = 0.0;
    for (size_t j = 0; j < p.size(); ++j) {
        sp += p[j];
        sq += q[j];
    }
    double kl = 0.0;
    for (size_t j = 0; j < p.size(); ++j) {
        if (p[j] <= 0.0) continue;
        double pj = p[j] / sp, qj = q[j] / sq;
        if (qj <= 0.0) return std::numeric_limits<double>::infinity();
        kl += pj * std::log(pj / qj);
    }
    return kl;
}

std::vector<std::pair<int64_t, double>> entropy_divergences(const Histogram& h, const EntropyOptions& o) {
    std::vector<std::pair<int64_t, double>> out;
    const int64_t used = h.used_bins();
    if (used <= o.quant_bins) return out;
    std::vector<int64_t> c = search_counts(h, o);
    for (int64_t i = o.quant_bins; i <= used; i += o.stride) out.emplace_back(i, entropy_divergence(c, i, o));
    if (out.back().first != used) out.emplace_back(used, entropy_divergence(c, used, o));
    return out;
}

float amax_entropy(const Histogram& h, const EntropyOptions& o) {
    auto divs = entropy_divergences(h, o);
    if (divs.empty()) return static_cast<float>(h.max_abs());
    size_t best = 0;
    for (size_t k = 1; k < divs.size(); ++k)
        if (divs[k].second <= divs[best].second) best = k;
    if (!std::isfinite(divs[best].second)) return static_cast<float>(h.max_abs());
    double a = static_cast<double>(divs[best].first) * h.width();
    return static_cast<float>(std::min(a, h.max_abs()));
}

// ---- mse ----------------------------------------------------------------------------------

namespace {

// G(y) = integral of (u - round(u))^2 du from -1/2 to y.
inline double rounding_integral(double y) {
    double k = std::floor(y + 0.5);
    double r = y - k;
    return k / 12.0 + (r * r * r + 0.125) / 3.0;
}

// Integral over [a, b) of the rounding error (x - s round(x / s))^2, 0 <= a <= b.
inline double rounding_error(double a, double b, double s) {
    return s * s * s * (rounding_integral(b / s) - rounding_integral(a / s));
}

// Integral over [a, b) of (x - t)^2, t <= a <= b.
inline double clip_error(double a, double b, double t) {
    double ua = a - t, ub = b - t;
    return (ub * ub * ub - ua * ua * ua) / 3.0;
}

}  // namespace

double histogram_mse(const Histogram& h, double t) {
    if (h.empty() || h.width() <= 0.0) return 0.0;
    if (!(t > 0.0)) return std::numeric_limits<double>::infinity();
    const double w = h.width(), s = t / 127.0;
    const auto& c = h.counts();
    double sum = 0.0;
    const int64_t used = h.used_bins();
    for (int64_t j = 0; j < used; ++j) {
        int64_t n = c[static_cast<size_t>(j)];
        if (!n) continue;
        double a = static_cast<double>(j) * w, b = a + w, e;
        if (b <= t) {
            e = rounding_error(a, b, s);
        } else if (a >= t) {
            e = clip_error(a, b, t);
        } else {
            e = rounding_error(a, t, s) + clip_error(t, b, t);
        }
        sum += static_cast<double>(n) * e / w;
    }
    return sum / static_cast<double>(h.total());
}

float amax_mse(const Histogram& h) {
    if (h.empty() || h.max_abs() <= 0.0 || h.width() <= 0.0) return static_cast<float>(h.max_abs());
    const int64_t used = h.used_bins();
    double best_t = h.max_abs(), best = histogram_mse(h, best_t);
    for (int64_t i = 1; i < used; ++i) {
        double t = static_cast<double>(i) * h.width();
        if (t >= h.max_abs()) break;
        double e = histogram_mse(h, t);
        if (e < best || (e == best && t < best_t)) {
            best = e;
            best_t = t;
        }
    }
    return static_cast<float>(best_t);
}

// ---- dispatch -----------------------------------------------------------------------------

Result<float> compute_amax(const TensorObserver& obs, const CalibratorOptions& o) {
    QAT_RETURN_IF_ERROR(validate(o));
    if (obs.count() == 0)
        return invalid_argument("no finite value was observed",
                                obs.nonfinite() ? " (" + std::to_string(obs.nonfinite()) + " NaN/Inf)" : std::string());
    switch (o.method) {
        case CalibMethod::kMax:
            return static_cast<float>(o.moving_average ? obs.moving_average_amax() : obs.amax());
        case CalibMethod::kPercentile:
            return amax_percentile(obs.histogram(), o.percentile);
        case CalibMethod::kEntropy:
            return amax_entropy(obs.histogram(), o.entropy);
        case CalibMethod::kMse:
            return amax_mse(obs.histogram());
    }
    return internal_error("unknown calibration method");
}

}  // namespace qat::quant
