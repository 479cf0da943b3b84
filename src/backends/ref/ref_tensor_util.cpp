#include "backends/ref/ref_tensor_util.h"

#include <algorithm>

namespace qat::ref {

Result<std::vector<int64_t>> read_int_list(const ir::Node& node, const Tensor& t, const char* what) {
    if (t.rank() > 1)
        return runtime::kernel_error(node, what, " must be a 1-D tensor, got shape ", dims_to_string(t.dims()));
    std::vector<int64_t> v(static_cast<size_t>(t.numel()));
    if (t.dtype() == DataType::kInt64) {
        for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.data<int64_t>()[i];
    } else if (t.dtype() == DataType::kInt32) {
        for (int64_t i = 0; i < t.numel(); ++i) v[i] = t.data<int32_t>()[i];
    } else {
        return runtime::kernel_error(node, what, " must be int32 or int64, got ", dtype_name(t.dtype()));
    }
    return v;
}

Result<int64_t> checked_numel(const ir::Node& node, const std::vector<int64_t>& dims, DataType dtype) {
    constexpr int64_t kMaxBytes = int64_t(1) << 34;
    int64_t n = 1;
    for (int64_t d : dims) {
        if (d < 0) return runtime::kernel_error(node, "negative dimension in shape ", dims_to_string(dims));
        if (__builtin_mul_overflow(n, d, &n)) n = kMaxBytes;  // saturate: refused just below
    }
    const int64_t elem = static_cast<int64_t>(std::max<size_t>(dtype_size(dtype), 1));
    if (n > kMaxBytes / elem)
        return runtime::kernel_error(node, "shape ", dims_to_string(dims), " of ", dtype_name(dtype),
                                     " is larger than the 16 GiB the reference backend allows for one tensor");
    return n;
}

Tensor half_as_float(const Tensor& t) {
    if (t.dtype() != DataType::kFloat16) return t;
    Tensor f = Tensor::empty(DataType::kFloat32, t.dims());
    const auto* h = static_cast<const uint16_t*>(t.raw_data());
    float* p = f.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = half_to_float(h[i]);
    return f;
}

void float_into_half(const Tensor& f32, Tensor& f16) {
    QAT_ASSERT(f32.dtype() == DataType::kFloat32 && f16.dtype() == DataType::kFloat16 && f32.numel() == f16.numel(),
               "float_into_half: ", f32.desc(), " into ", f16.desc());
    const float* p = f32.data<float>();
    auto* h = static_cast<uint16_t*>(f16.raw_data());
    for (int64_t i = 0; i < f32.numel(); ++i) h[i] = float_to_half(p[i]);
}

}  // namespace qat::ref
