// Calibrators: from what an observer saw (observer.h) to the amax of a symmetric int8 scale
// (scale = amax / 127). Four methods, as in TensorRT / pytorch-quantization:
//
//   max         the largest |x| seen (optionally the moving average of the per-batch max).
//   percentile  the p-th percentile of |x| (default 99.99), interpolated linearly inside the
//               histogram bin where the cumulative count reaches p%.
//   entropy     TensorRT's entropy calibration: the clip threshold whose int8 quantization keeps
//               the distribution closest (KL divergence) to the FP32 one. See below.
//   mse         the threshold that minimises the mean squared quantization error. See below.
//
// Weights never come here: they always use their per-channel max (passes/quant/insert_qdq.h).
//
// Entropy (TensorRT's "8-bit inference" algorithm, GTC 2017; the data's histogram of |x| with
// B bins of width w, `used` = bins up to the last non-empty one):
//   0. h[0] = h[1] (optional, on by default, as pytorch-quantization does): exact zeros (ReLU)
//      are represented exactly by int8, and a spike in bin 0 would otherwise dominate the
//      divergence and drag every threshold down to the first candidate;
//   1. for each candidate i = nq .. used (nq = 128 quantized levels, threshold i * w):
//      P = h[0..i), with the outliers sum(h[i..B)) folded into P[i-1];
//      Q = h[0..i) merged into nq chunks (chunk k = bins [k*i/nq, (k+1)*i/nq), integer
//          division; outliers are not in Q: they are what clipping loses), each chunk's sum
//          spread evenly over the bins of the chunk where P is non-zero (zero bins stay zero);
//      both smoothed (zero entries get eps = 1e-4, the non-zero entries give that mass back
//          evenly: MXNet / ONNX Runtime's smooth_distribution; a distribution that cannot give
//          it back scores +inf), then normalised; divergence = sum P ln(P / Q);
//   2. amax = i * w of the smallest divergence (ties: the larger threshold, as pytorch-
//      quantization's last argmin), capped at the exact max. With used <= nq the data already
//      fits int8's levels bin by bin and amax is the max.
//
// MSE: candidates t = i * w for i = 1 .. used-1, plus the exact max; for each, the expected
// squared error of symmetric int8 fake quantization with s = t / 127 over the histogram,
// treating the values of a bin as uniform within it. Below t the error is the rounding error,
// integrated in closed form ((x - s round(x/s))^2 is periodic in x); above t it is the clipping
// error (x - t)^2, also integrated exactly over the bin. The smallest mean wins (ties: smaller t).
// Counting whole bins keeps it O(used^2) however many samples were seen.
//
//   CalibratorOptions c;
//   c.method = CalibMethod::kPercentile;
//   c.percentile = 99.9;
//   QAT_ASSIGN_OR_RETURN(float amax, compute_amax(observer, c));
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "quant/histogram.h"
#include "quant/observer.h"

namespace qat::quant {

enum class CalibMethod { kMax, kPercentile, kEntropy, kMse };

const char* calib_method_name(CalibMethod m);  // "max", "percentile", "entropy", "mse"
// Parses a method name; the error lists the known ones.
Result<CalibMethod> parse_calib_method(const std::string& s);
std::vector<std::string> calib_method_names();

struct EntropyOptions {
    int64_t quant_bins = 128;  // levels of int8's positive half
    int64_t stride = 1;        // candidate step (the last candidate, `used`, is always tried)
    double smoothing_eps = 1e-4;
    bool zero_bin_as_neighbor = true;  // step 0 above
};

struct CalibratorOptions {
    CalibMethod method = CalibMethod::kMax;
    double percentile = 99.99;    // in (0, 100]
    bool moving_average = false;  // max only: the moving average of the per-batch max
    EntropyOptions entropy;
};

// Checks the option values (percentile range, entropy bins >= 1, stride >= 1).
Status validate(const CalibratorOptions& options);

// amax for one observed tensor. Error when the observer saw no finite value.
Result<float> compute_amax(const TensorObserver& observer, const CalibratorOptions& options);

// ---- the methods on a bare histogram (also what the tests check) ----------------------------

float amax_percentile(const Histogram& h, double percentile);

// Divergence of candidate threshold i bins (nq <= i <= counts.size()); counts are the
// histogram's (step 0 already applied or not, as the caller wants). +inf when a distribution
// cannot be smoothed.
double entropy_divergence(const std::vector<int64_t>& counts, int64_t i, const EntropyOptions& options);
// (i, divergence) for every candidate the search tries, in order.
std::vector<std::pair<int64_t, double>> entropy_divergences(const Histogram& h, const EntropyOptions& options);
float amax_entropy(const Histogram& h, const EntropyOptions& options = {});

// Mean squared quantization error of symmetric int8 with threshold `amax` over the histogram
// (values uniform within their bins).
double histogram_mse(const Histogram& h, double amax);
float amax_mse(const Histogram& h);

}  // namespace qat::quant
