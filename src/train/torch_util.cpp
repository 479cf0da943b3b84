#include "train/torch_util.h"

#include <cstring>

namespace qat::train::detail {

Result<at::ScalarType> to_scalar_type(DataType t) {
    switch (t) {
        case DataType::kFloat32:
            return at::kFloat;
        case DataType::kFloat64:
            return at::kDouble;
        case DataType::kFloat16:
            return at::kFloat;  // converted on the way in
        case DataType::kInt8:
            return at::kChar;
        case DataType::kUint8:
            return at::kByte;
        case DataType::kInt16:
            return at::kShort;
        case DataType::kInt32:
            return at::kInt;
        case DataType::kInt64:
            return at::kLong;
        case DataType::kBool:
            return at::kBool;
        default:
            return unsupported("tensor dtype ", dtype_name(t), " has no libtorch counterpart");
    }
}

Result<DataType> from_scalar_type(at::ScalarType t) {
    switch (t) {
        case at::kFloat:
            return DataType::kFloat32;
        case at::kDouble:
            return DataType::kFloat64;
        case at::kChar:
            return DataType::kInt8;
        case at::kByte:
            return DataType::kUint8;
        case at::kShort:
            return DataType::kInt16;
        case at::kInt:
            return DataType::kInt32;
        case at::kLong:
            return DataType::kInt64;
        case at::kBool:
            return DataType::kBool;
        default:
            return unsupported("libtorch dtype ", c10::toString(t), " has no qat counterpart");
    }
}

std::vector<int64_t> dims_of(const at::Tensor& t) { return t.sizes().vec(); }

Result<at::Tensor> to_torch(const Tensor& t) {
    if (t.dtype() == DataType::kFloat16) return to_torch(t.cast(DataType::kFloat32));
    QAT_ASSIGN_OR_RETURN(at::ScalarType st, to_scalar_type(t.dtype()));
    at::Tensor out = at::empty(t.dims(), at::TensorOptions().dtype(st));
    if (t.nbytes() > 0) {
        if (t.dtype() == DataType::kBool) {
            const bool* src = t.data<bool>();
            bool* dst = out.data_ptr<bool>();
            for (int64_t i = 0; i < t.numel(); ++i) dst[i] = src[i];
        } else {
            std::memcpy(out.data_ptr(), t.raw_data(), t.nbytes());
        }
    }
    return out;
}

Result<Tensor> from_torch(const at::Tensor& src) {
    at::Tensor t = src.detach().contiguous();
    QAT_ASSIGN_OR_RETURN(DataType dt, from_scalar_type(t.scalar_type()));
    Tensor out = Tensor::empty(dt, t.sizes().vec());
    if (out.nbytes() > 0) {
        if (dt == DataType::kBool) {
            const bool* s = t.data_ptr<bool>();
            for (int64_t i = 0; i < out.numel(); ++i) out.data<bool>()[i] = s[i];
        } else {
            std::memcpy(out.raw_data(), t.data_ptr(), out.nbytes());
        }
    }
    return out;
}

Tensor float_from_torch(const at::Tensor& src) {
    QAT_ASSERT(src.scalar_type() == at::kFloat, "float_from_torch on ", c10::toString(src.scalar_type()));
    at::Tensor t = src.detach().contiguous();
    Tensor out = Tensor::empty(DataType::kFloat32, t.sizes().vec());
    if (out.nbytes() > 0) std::memcpy(out.raw_data(), t.data_ptr(), out.nbytes());
    return out;
}

}  // namespace qat::train::detail
