#include "core/tensor.h"

#include <cstdlib>

namespace qat {
namespace {

}  // namespace

std::shared_ptr<void> aligned_alloc_bytes(size_t bytes) {
    size_t n = (bytes + 63) / 64 * 64;
    if (n == 0) n = 64;
    void* p = std::aligned_alloc(64, n);
    QAT_ASSERT(p != nullptr, "out of memory allocating ", bytes, " bytes");
    return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

Tensor Tensor::empty(DataType dtype, std::vector<int64_t> dims) {
    Tensor t;
    t.dtype_ = dtype;
    t.dims_ = std::move(dims);
    t.numel_ = numel_of(t.dims_);
    QAT_ASSERT(t.numel_ >= 0, "negative dimension in ", dims_to_string(t.dims_));
    t.storage_ = aligned_alloc_bytes(t.nbytes());
    t.data_ = t.storage_.get();
    return t;
}

Tensor Tensor::zeros(DataType dtype, std::vector<int64_t> dims) {
    Tensor t = empty(dtype, std::move(dims));
    if (t.nbytes()) std::memset(t.data_, 0, t.nbytes());
    return t;
}

Tensor Tensor::from_storage(DataType dtype, std::vector<int64_t> dims, std::shared_ptr<void> storage) {
    Tensor t;
    t.dtype_ = dtype;
    t.dims_ = std::move(dims);
    t.numel_ = numel_of(t.dims_);
    t.storage_ = std::move(storage);
    t.data_ = t.storage_.get();
    return t;
}

Tensor Tensor::wrap(DataType dtype, std::vector<int64_t> dims, void* data) {
    Tensor t;
    t.dtype_ = dtype;
    t.dims_ = std::move(dims);
    t.numel_ = numel_of(t.dims_);
    t.data_ = data;
    return t;
}

double Tensor::get_as_double(int64_t i) const {
    switch (dtype_) {
        case DataType::kFloat32: return static_cast<const float*>(data_)[i];
        case DataType::kFloat16: return half_to_float(static_cast<const uint16_t*>(data_)[i]);
        case DataType::kFloat64: return static_cast<const double*>(data_)[i];
        case DataType::kInt8: return static_cast<const int8_t*>(data_)[i];
        case DataType::kUint8: return static_cast<const uint8_t*>(data_)[i];
        case DataType::kInt16: return static_cast<const int16_t*>(data_)[i];
        case DataType::kInt32: return static_cast<const int32_t*>(data_)[i];
        case DataType::kInt64: return static_cast<double>(static_cast<const int64_t*>(data_)[i]);
        case DataType::kBool: return static_cast<const bool*>(data_)[i] ? 1.0 : 0.0;
        case DataType::kUndefined: break;
    }
    QAT_ASSERT(false, "get_as_double on an undefined tensor");
}

void Tensor::set_from_double(int64_t i, double v) {
    switch (dtype_) {
        case DataType::kFloat32: static_cast<float*>(data_)[i] = static_cast<float>(v); return;
        case DataType::kFloat16: static_cast<uint16_t*>(data_)[i] = float_to_half(static_cast<float>(v)); return;
        case DataType::kFloat64: static_cast<double*>(data_)[i] = v; return;
        case DataType::kInt8: static_cast<int8_t*>(data_)[i] = static_cast<int8_t>(v); return;
        case DataType::kUint8: static_cast<uint8_t*>(data_)[i] = static_cast<uint8_t>(v); return;
        case DataType::kInt16: static_cast<int16_t*>(data_)[i] = static_cast<int16_t>(v); return;
        case DataType::kInt32: static_cast<int32_t*>(data_)[i] = static_cast<int32_t>(v); return;
        case DataType::kInt64: static_cast<int64_t*>(data_)[i] = static_cast<int64_t>(v); return;
        case DataType::kBool: static_cast<bool*>(data_)[i] = v != 0.0; return;
        case DataType::kUndefined: break;
    }
    QAT_ASSERT(false, "set_from_double on an undefined tensor");
}

Tensor Tensor::clone() const {
    if (!defined()) return {};
    Tensor t = empty(dtype_, dims_);
    if (nbytes()) std::memcpy(t.data_, data_, nbytes());
    return t;
}

Tensor Tensor::reshaped(std::vector<int64_t> dims) const {
    QAT_ASSERT(numel_of(dims) == numel_, "reshape ", dims_to_string(dims_), " to ", dims_to_string(dims));
    Tensor t = *this;
    t.dims_ = std::move(dims);
    return t;
}

Tensor Tensor::cast(DataType to) const {
    if (to == dtype_) return *this;
    Tensor t = empty(to, dims_);
    for (int64_t i = 0; i < numel_; ++i) t.set_from_double(i, get_as_double(i));
    return t;
}

bool Tensor::equals(const Tensor& o) const {
    if (dtype_ != o.dtype_ || dims_ != o.dims_) return false;
    return nbytes() == 0 || std::memcmp(data_, o.data_, nbytes()) == 0;
}

std::string Tensor::desc() const { return std::string(dtype_name(dtype_)) + dims_to_string(dims_); }

}  // namespace qat
