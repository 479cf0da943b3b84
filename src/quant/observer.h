// TensorObserver: what calibration records about one activation tensor while the FP32 model
// runs: exact max |x|, signed min / max, a moving average of the per-batch max, and a histogram
// of |x| (histogram.h). Calibrators (calibrator.h) turn it into an amax.
//
//   ObserverOptions o;                      // 2048 bins, averaging constant 0.01
//   TensorObserver obs(o);
//   for (batch ...) obs.update(activation);  // f32 (f16 / f64 converted)
//   QAT_ASSIGN_OR_RETURN(float amax, compute_amax(obs, {.method = CalibMethod::kEntropy}));
//
// Observers of several runs (threads, shards of a data set) combine with merge(); the moving
// average then follows the order of the merges.
#pragma once

#include <cstdint>
#include <limits>

#include "core/status.h"
#include "core/tensor.h"
#include "quant/histogram.h"

namespace qat::quant {

struct ObserverOptions {
    int64_t bins = 2048;
    // Moving-average max (ONNX Runtime's / PyTorch's MovingAverageMinMax): after the first
    // batch, ema = ema + c * (batch_max - ema). Always recorded; used when the calibrator asks
    // for it (CalibratorOptions::moving_average).
    double averaging_constant = 0.01;
};

class TensorObserver {
  public:
    explicit TensorObserver(const ObserverOptions& options = {});

    // One batch. Only the first `valid_rows` rows along dim 0 are observed (a fixed-batch model
    // fed a padded last batch); -1 observes everything. Float tensors only (f32, f16, f64);
    // anything else is an error naming the dtype.
    Status update(const Tensor& t, int64_t valid_rows = -1);
    void update(const float* x, int64_t n);
    // Adds another observer's data (same bin count).
    Status merge(const TensorObserver& other);

    int64_t batches() const { return batches_; }
    // Finite values observed.
    int64_t count() const { return hist_.total(); }
    int64_t nonfinite() const { return nonfinite_; }
    double amax() const { return hist_.max_abs(); }
    double min() const { return count() ? min_ : 0.0; }
    double max() const { return count() ? max_ : 0.0; }
    double moving_average_amax() const { return ema_; }
    const Histogram& histogram() const { return hist_; }
    const ObserverOptions& options() const { return opt_; }

  private:
    ObserverOptions opt_;
    Histogram hist_;
    int64_t batches_ = 0;
    int64_t nonfinite_ = 0;
    double min_ = std::numeric_limits<double>::infinity();
    double max_ = -std::numeric_limits<double>::infinity();
    double ema_ = 0.0;
};

}  // namespace qat::quant
