// Tensor: a dtype, concrete dims and a reference-counted, 64-byte aligned buffer.
//
// Copies share the buffer (like a shared_ptr); clone() makes a deep copy. Used for constant
// payloads in the IR, for kernel inputs/outputs at run time, and for data sets.
//
//   Tensor t = Tensor::zeros(DataType::kFloat32, {1, 3, 224, 224});
//   float* p = t.data<float>();
//   Tensor w = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/status.h"

namespace qat {

// 64-byte aligned storage block of at least `bytes` (at least 64).
std::shared_ptr<void> aligned_alloc_bytes(size_t bytes);

class Tensor {
public:
    Tensor() = default;

    // Uninitialized storage (first touch happens in the caller's loop, not here).
    static Tensor empty(DataType dtype, std::vector<int64_t> dims);
    static Tensor zeros(DataType dtype, std::vector<int64_t> dims);
    // A tensor over a shared storage block of at least nbytes (buffer pools hand these out).
    static Tensor from_storage(DataType dtype, std::vector<int64_t> dims, std::shared_ptr<void> storage);
    // Non-owning view of memory the caller keeps alive.
    static Tensor wrap(DataType dtype, std::vector<int64_t> dims, void* data);
    template <typename T>
    static Tensor from_vector(std::vector<int64_t> dims, const std::vector<T>& values) {
        Tensor t = empty(dtype_of<T>, std::move(dims));
        QAT_ASSERT(static_cast<size_t>(t.numel()) == values.size(), "from_vector: ", values.size(),
                   " values for dims ", dims_to_string(t.dims()));
        if constexpr (std::is_same_v<T, bool>) {
            for (size_t i = 0; i < values.size(); ++i) t.data<bool>()[i] = values[i];
        } else {
            if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
        }
        return t;
    }
    template <typename T>
    static Tensor scalar(T v) {
        return from_vector<T>({}, std::vector<T>{v});
    }

    bool defined() const { return dtype_ != DataType::kUndefined; }
    DataType dtype() const { return dtype_; }
    const std::vector<int64_t>& dims() const { return dims_; }
    int64_t dim(size_t i) const { return dims_[i]; }
    size_t rank() const { return dims_.size(); }
    int64_t numel() const { return numel_; }
    size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
    Shape shape() const { return Shape::from_dims(dims_); }

    void* raw_data() { return data_; }
    const void* raw_data() const { return data_; }
    template <typename T>
    T* data() {
        QAT_ASSERT(dtype_of<T> == dtype_, "tensor holds ", dtype_name(dtype_), ", accessed as ",
                   dtype_name(dtype_of<T>));
        return static_cast<T*>(data_);
    }
    template <typename T>
    const T* data() const {
        QAT_ASSERT(dtype_of<T> == dtype_, "tensor holds ", dtype_name(dtype_), ", accessed as ",
                   dtype_name(dtype_of<T>));
        return static_cast<const T*>(data_);
    }
    template <typename T>
    std::vector<T> to_vector() const {
        const T* p = data<T>();
        return std::vector<T>(p, p + numel_);
    }

    // Element i converted to double, whatever the dtype (for generic, slow code paths).
    double get_as_double(int64_t i) const;
    void set_from_double(int64_t i, double v);

    Tensor clone() const;
    // Same buffer, new dims (element count must match).
    Tensor reshaped(std::vector<int64_t> dims) const;
    // Converts element-wise (float<->int truncates toward zero like ONNX Cast; to bool is != 0).
    Tensor cast(DataType to) const;
    bool shares_buffer_with(const Tensor& o) const { return data_ == o.data_; }
    const std::shared_ptr<void>& storage() const { return storage_; }
    // Bitwise equality of dtype, dims and contents.
    bool equals(const Tensor& o) const;

    // "f32[1,3,224,224]"
    std::string desc() const;

private:
    DataType dtype_ = DataType::kUndefined;
    std::vector<int64_t> dims_;
    int64_t numel_ = 0;
    std::shared_ptr<void> storage_;
    void* data_ = nullptr;
};

}  // namespace qat
