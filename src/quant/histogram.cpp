#include "quant/histogram.h"

#include <algorithm>
#include <cmath>

namespace qat::quant {

Histogram::Histogram(int64_t bins) : counts_(static_cast<size_t>(std::max<int64_t>(bins, 1)), 0) {}

Histogram Histogram::from_counts(std::vector<int64_t> counts, double width, double max_abs) {
    Histogram h(static_cast<int64_t>(counts.size()));
    h.counts_ = std::move(counts);
    if (h.counts_.empty()) h.counts_.assign(1, 0);
    h.width_ = width;
    for (int64_t c : h.counts_) h.total_ += c;
    h.max_abs_ = max_abs >= 0.0 ? max_abs : width * static_cast<double>(h.used_bins());
    return h;
}

int64_t Histogram::used_bins() const {
    for (int64_t i = bins() - 1; i >= 0; --i)
        if (counts_[static_cast<size_t>(i)] != 0) return i + 1;
    return 0;
}

void Histogram::double_width() {
    const size_t n = counts_.size();
    // Bin i of the doubled histogram covers old bins 2i and 2i+1. Reading index 2i/2i+1 before
    // writing index i (i <= 2i) keeps this in place.
    for (size_t i = 0; i < n; ++i) {
        int64_t c = 0;
        if (2 * i < n) c += counts_[2 * i];
        if (2 * i + 1 < n) c += counts_[2 * i + 1];
        counts_[i] = c;
        if (2 * i >= n) counts_[i] = 0;
    }
    width_ *= 2.0;
    ++growths_;
}

void Histogram::grow_to(double amax) {
    if (!(amax > 0.0)) return;
    if (width_ == 0.0) {
        // First non-zero data: the range ends a hair above this batch's max, so the max falls
        // inside the last bin instead of on the range's edge (a value clamped into the last bin
        // would land one bin off after the width doubles, and merging would stop being exact).
        // Zeros already counted stay in bin 0, which they share.
        width_ = amax * (1.0 + 1e-6) / static_cast<double>(counts_.size());
        return;
    }
    while (amax >= range()) double_width();
}

int64_t Histogram::add(const float* x, int64_t n) {
    // Pass 1: the batch max decides the range before any value is binned, so one batch never
    // triggers more than one growth step sequence.
    double m = 0.0;
    int64_t nonfinite = 0;
    for (int64_t i = 0; i < n; ++i) {
        float a = std::fabs(x[i]);
        if (!std::isfinite(a)) {
            ++nonfinite;
            continue;
        }
        if (a > m) m = a;
    }
    grow_to(m);
    if (m > max_abs_) max_abs_ = m;
    const int64_t last = bins() - 1;
    if (width_ == 0.0) {
        // Only zeros so far.
        counts_[0] += n - nonfinite;
        total_ += n - nonfinite;
        return nonfinite;
    }
    const double inv = 1.0 / width_;
    int64_t* c = counts_.data();
    for (int64_t i = 0; i < n; ++i) {
        float a = std::fabs(x[i]);
        if (!std::isfinite(a)) continue;
        int64_t b = static_cast<int64_t>(static_cast<double>(a) * inv);
        c[b > last ? last : b]++;
    }
    total_ += n - nonfinite;
    return nonfinite;
}

void Histogram::merge(const Histogram& o) {
    if (o.total_ == 0) return;
    if (total_ == 0 && width_ == 0.0 && o.bins() == bins()) {
        *this = o;
        return;
    }
    if (o.width_ == 0.0) {
        // The other one holds only zeros.
        counts_[0] += o.total_;
        total_ += o.total_;
        return;
    }
    if (width_ == 0.0) {
        // We hold only zeros: take the other's geometry, keep our zeros in bin 0.
        int64_t zeros = total_;
        if (o.bins() == bins()) {
            int64_t g = growths_;
            *this = o;
            growths_ += g;
            counts_[0] += zeros;
            total_ += zeros;
            return;
        }
        width_ = o.range() / static_cast<double>(bins());
    }
    // Bring our width to at least the other's and our range over its data.
    double ratio = o.width_ / width_;
    double k = std::round(std::log2(ratio));
    bool pow2 = std::fabs(ratio - std::exp2(k)) <= 1e-9 * ratio;
    if (pow2 && k > 0) {
        for (int i = 0; i < static_cast<int>(k); ++i) double_width();
    }
    grow_to(o.max_abs_);
    const int64_t last = bins() - 1;
    if (pow2 && width_ >= o.width_) {
        // Exact: other's bin j lies inside our bin floor(j * o.width / width).
        int64_t factor = static_cast<int64_t>(std::llround(width_ / o.width_));
        for (int64_t j = 0; j < o.bins(); ++j) {
            int64_t c = o.counts_[static_cast<size_t>(j)];
            if (!c) continue;
            counts_[static_cast<size_t>(std::min(j / factor, last))] += c;
        }
    } else {
        for (int64_t j = 0; j < o.bins(); ++j) {
            int64_t c = o.counts_[static_cast<size_t>(j)];
            if (!c) continue;
            double centre = (static_cast<double>(j) + 0.5) * o.width_;
            int64_t b = static_cast<int64_t>(centre / width_);
            counts_[static_cast<size_t>(std::min(b, last))] += c;
        }
    }
    total_ += o.total_;
    max_abs_ = std::max(max_abs_, o.max_abs_);
}

}  // namespace qat::quant
