// Public Status / tensors / version, and the conversions from the toolkit's types.
#include <cstdio>
#include <cstdlib>

#include "api/api_internal.h"
#include "core/npy.h"
#include "qat/qat.h"

namespace qat::api {

const char* status_code_name(StatusCode code) {
    switch (code) {
        case StatusCode::kOk:
            return "OK";
        case StatusCode::kInvalidArgument:
            return "invalid argument";
        case StatusCode::kInvalidModel:
            return "invalid model";
        case StatusCode::kNotFound:
            return "not found";
        case StatusCode::kUnsupported:
            return "unsupported";
        case StatusCode::kIoError:
            return "I/O error";
        case StatusCode::kOutOfRange:
            return "out of range";
        case StatusCode::kFailedPrecondition:
            return "failed precondition";
        case StatusCode::kCancelled:
            return "cancelled";
        case StatusCode::kInternal:
            return "internal error";
    }
    return "unknown";
}

std::string Status::to_string() const {
    if (ok()) return "OK";
    return std::string(status_code_name(code_)) + ": " + message_;
}

namespace detail {
void abort_on_bad_result(const Status& s) {
    std::fprintf(stderr, "qat: value() of a failed Result: %s\n", s.to_string().c_str());
    std::abort();
}
}  // namespace detail

const char* version() { return engine::qat_version(); }

// ---- tensors ----------------------------------------------------------------------------------

FloatTensor FloatTensor::zeros(std::vector<int64_t> shape) {
    FloatTensor t;
    t.shape = std::move(shape);
    t.data.assign(static_cast<size_t>(std::max<int64_t>(t.numel(), 0)), 0.0f);
    return t;
}

int64_t FloatTensor::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

int64_t FloatTensor::argmax_row(int64_t row) const {
    if (shape.empty() || row < 0 || row >= shape[0] || shape[0] == 0) return -1;
    const int64_t k = numel() / shape[0];
    if (k <= 0 || static_cast<int64_t>(data.size()) < (row + 1) * k) return -1;
    int64_t best = 0;
    for (int64_t j = 1; j < k; ++j)
        if (data[static_cast<size_t>(row * k + j)] > data[static_cast<size_t>(row * k + best)]) best = j;
    return best;
}

std::string FloatTensor::shape_string() const { return dims_to_string(shape); }

Result<FloatTensor> load_npy(const std::string& path) {
    auto t = ::qat::load_npy(path);
    if (!t.ok()) return internal::to_api(t.status());
    return internal::to_float_tensor(*t);
}

Status save_npy(const std::string& path, const FloatTensor& tensor) {
    if (tensor.numel() < 0 || static_cast<int64_t>(tensor.data.size()) != tensor.numel())
        return Status(StatusCode::kInvalidArgument, "save_npy " + path + ": " + std::to_string(tensor.data.size()) +
                                                        " values for shape " + tensor.shape_string());
    return internal::to_api(::qat::save_npy(path, internal::to_internal(tensor)));
}

namespace internal {
namespace {

// ONNX's spelling, which users of the API know (the toolkit's short names are for its IR text).
const char* long_dtype_name(DataType t) {
    switch (t) {
        case DataType::kUndefined:
            return "undefined";
        case DataType::kFloat32:
            return "float32";
        case DataType::kFloat16:
            return "float16";
        case DataType::kFloat64:
            return "float64";
        case DataType::kInt8:
            return "int8";
        case DataType::kUint8:
            return "uint8";
        case DataType::kInt16:
            return "int16";
        case DataType::kInt32:
            return "int32";
        case DataType::kInt64:
            return "int64";
        case DataType::kBool:
            return "bool";
    }
    return "undefined";
}

}  // namespace

Status to_api(const ::qat::Status& s) {
    if (s.ok()) return {};
    StatusCode c = StatusCode::kInternal;
    switch (s.code()) {
        case ::qat::StatusCode::kOk:
            return {};
        case ::qat::StatusCode::kInvalidArgument:
            c = StatusCode::kInvalidArgument;
            break;
        case ::qat::StatusCode::kInvalidModel:
            c = StatusCode::kInvalidModel;
            break;
        case ::qat::StatusCode::kNotFound:
            c = StatusCode::kNotFound;
            break;
        case ::qat::StatusCode::kUnsupported:
            c = StatusCode::kUnsupported;
            break;
        case ::qat::StatusCode::kIoError:
            c = StatusCode::kIoError;
            break;
        case ::qat::StatusCode::kOutOfRange:
            c = StatusCode::kOutOfRange;
            break;
        case ::qat::StatusCode::kFailedPrecondition:
            c = StatusCode::kFailedPrecondition;
            break;
        case ::qat::StatusCode::kCancelled:
            c = StatusCode::kCancelled;
            break;
        case ::qat::StatusCode::kInternal:
            c = StatusCode::kInternal;
            break;
    }
    return Status(c, s.to_string());
}

FloatTensor to_float_tensor(const ::qat::Tensor& t) {
    FloatTensor out;
    out.shape = t.dims();
    out.data.resize(static_cast<size_t>(t.numel()));
    if (t.dtype() == DataType::kFloat32) {
        std::copy(t.data<float>(), t.data<float>() + t.numel(), out.data.begin());
    } else {
        for (int64_t i = 0; i < t.numel(); ++i)
            out.data[static_cast<size_t>(i)] = static_cast<float>(t.get_as_double(i));
    }
    return out;
}

::qat::Tensor to_internal(const FloatTensor& t) {
    ::qat::Tensor out = ::qat::Tensor::empty(DataType::kFloat32, t.shape);
    std::copy(t.data.begin(), t.data.end(), out.data<float>());
    return out;
}

TensorInfo value_info(const ir::Value& v) {
    TensorInfo i;
    i.name = v.name();
    i.dtype = long_dtype_name(v.dtype());
    i.rank_known = v.shape().rank_known();
    for (const Dim& d : v.shape().dims()) i.shape.push_back(d.is_static() ? d.value : -1);
    return i;
}

}  // namespace internal
}  // namespace qat::api
