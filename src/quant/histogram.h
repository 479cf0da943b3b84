// Histogram of absolute values for calibration: fixed bin count, range grown as data arrives.
//
// Symmetric int8 needs only |x|, so the histogram covers [0, range) with `bins` equal bins
// (2048 by default, as TensorRT's and pytorch-quantization's histogram calibrators). The range
// is not known before the data is seen and the data is read once, so it grows by doubling:
//
//   first non-zero value(s): range = the batch's max |x| (times 1 + 1e-6, so that the max lies
//   inside the last bin rather than on the edge); bin width = range / bins;
//   a later batch with max |x| >= range: the width doubles (bins 2i and 2i+1 merge into bin i,
//   the upper half empties) until the new max fits.
//
// Merging pairs of bins is exact (bin edges of the coarse histogram are edges of the fine one),
// so no count is ever split or moved by interpolation, and the order of the batches only
// changes the final width, never which coarse bin a value lands in. The cost is resolution:
// after a growth the data occupies between half and all of the bins, never fewer than
// bins / 2 — still 1024+ bins at the default, well above the 128 levels of int8's positive
// half that the calibrators compare against.
//
// Values that are exactly 0 (ReLU outputs) land in bin 0 even before a width is known.
// Non-finite values are not binned (the observer counts them).
//
//   Histogram h(2048);
//   h.add(x.data<float>(), x.numel());
//   float p = amax_percentile(h, 99.99);   // calibrator.h
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"

namespace qat::quant {

class Histogram {
  public:
    explicit Histogram(int64_t bins = 2048);
    // A histogram with given counts over [0, counts.size() * width) (tests, tables read back).
    // max_abs defaults to the upper edge of the last non-empty bin.
    static Histogram from_counts(std::vector<int64_t> counts, double width, double max_abs = -1.0);

    // Adds |x[i]| for every finite x[i]; returns how many values were not finite (skipped).
    int64_t add(const float* x, int64_t n);
    // Adds another histogram (e.g. one per thread). Equal widths, or widths a power of two
    // apart, merge exactly (the finer one is coarsened by doubling); any other ratio re-bins the
    // other histogram by bin centres (each bin moves whole into the bin holding its centre).
    void merge(const Histogram& other);

    int64_t bins() const { return static_cast<int64_t>(counts_.size()); }
    // 0 until a non-zero value was seen.
    double width() const { return width_; }
    double range() const { return width_ * static_cast<double>(counts_.size()); }
    const std::vector<int64_t>& counts() const { return counts_; }
    int64_t total() const { return total_; }
    bool empty() const { return total_ == 0; }
    // Exact largest |x| added (not rounded to a bin edge).
    double max_abs() const { return max_abs_; }
    // Index of the last non-empty bin + 1 (0 when empty): the part the calibrators search.
    int64_t used_bins() const;
    // How many times the range doubled (for the table summary and tests).
    int64_t growths() const { return growths_; }

  private:
    // Doubles the width until `amax` lies inside [0, range) (or the histogram is first sized).
    void grow_to(double amax);
    void double_width();

    std::vector<int64_t> counts_;
    double width_ = 0.0;
    double max_abs_ = 0.0;
    int64_t total_ = 0;
    int64_t growths_ = 0;
};

}  // namespace qat::quant
