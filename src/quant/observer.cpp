#include "quant/observer.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace qat::quant {

TensorObserver::TensorObserver(const ObserverOptions& options) : opt_(options), hist_(options.bins) {}

void TensorObserver::update(const float* x, int64_t n) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo, bmax = 0.0;
    for (int64_t i = 0; i < n; ++i) {
        float v = x[i];
        if (!std::isfinite(v)) continue;
        lo = std::min(lo, static_cast<double>(v));
        hi = std::max(hi, static_cast<double>(v));
        bmax = std::max(bmax, static_cast<double>(std::fabs(v)));
    }
    nonfinite_ += hist_.add(x, n);
    if (lo <= hi) {
        min_ = std::min(min_, lo);
        max_ = std::max(max_, hi);
    }
    if (n == 0) return;
    ema_ = batches_ == 0 ? bmax : ema_ + opt_.averaging_constant * (bmax - ema_);
    ++batches_;
}

Status TensorObserver::update(const Tensor& t, int64_t valid_rows) {
    int64_t n = t.numel();
    if (valid_rows >= 0 && t.rank() >= 1 && t.dim(0) > 0 && valid_rows < t.dim(0)) n = n / t.dim(0) * valid_rows;
    switch (t.dtype()) {
        case DataType::kFloat32:
            update(t.data<float>(), n);
            return OkStatus();
        case DataType::kFloat16:
        case DataType::kFloat64: {
            std::vector<float> tmp(static_cast<size_t>(n));
            for (int64_t i = 0; i < n; ++i) tmp[static_cast<size_t>(i)] = static_cast<float>(t.get_as_double(i));
            update(tmp.data(), n);
            return OkStatus();
        }
        default:
            return invalid_argument("cannot observe a tensor of dtype ", dtype_name(t.dtype()),
                                    " (activation ranges are for float tensors)");
    }
}

Status TensorObserver::merge(const TensorObserver& o) {
    if (o.hist_.bins() != hist_.bins())
        return invalid_argument("cannot merge observers with ", hist_.bins(), " and ", o.hist_.bins(), " bins");
    if (o.batches_ == 0 && o.count() == 0) return OkStatus();
    hist_.merge(o.hist_);
    nonfinite_ += o.nonfinite_;
    min_ = std::min(min_, o.min_);
    max_ = std::max(max_, o.max_);
    // The other's batches come after ours: continue the average with its value as one step.
    ema_ = batches_ == 0 ? o.ema_ : ema_ + opt_.averaging_constant * (o.ema_ - ema_);
    batches_ += o.batches_;
    return OkStatus();
}

}  // namespace qat::quant
