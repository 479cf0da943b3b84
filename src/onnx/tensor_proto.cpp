#include "onnx/tensor_proto.h"

#include <cstring>

#include "core/file_util.h"
#include "onnx/proto_internal.h"

namespace qat::onnx {

using TP = ::onnx::TensorProto;

int to_onnx_dtype(DataType t) {
    switch (t) {
        case DataType::kFloat32:
            return TP::FLOAT;
        case DataType::kFloat16:
            return TP::FLOAT16;
        case DataType::kFloat64:
            return TP::DOUBLE;
        case DataType::kInt8:
            return TP::INT8;
        case DataType::kUint8:
            return TP::UINT8;
        case DataType::kInt16:
            return TP::INT16;
        case DataType::kInt32:
            return TP::INT32;
        case DataType::kInt64:
            return TP::INT64;
        case DataType::kBool:
            return TP::BOOL;
        case DataType::kUndefined:
            return TP::UNDEFINED;
    }
    return TP::UNDEFINED;
}

std::string onnx_dtype_name(int elem_type) {
    if (!TP::DataType_IsValid(elem_type)) return "INVALID(" + std::to_string(elem_type) + ")";
    return TP::DataType_Name(static_cast<TP::DataType>(elem_type));
}

Result<DataType> from_onnx_dtype(int elem_type, const std::string& what) {
    switch (elem_type) {
        case TP::FLOAT:
            return DataType::kFloat32;
        case TP::FLOAT16:
            return DataType::kFloat16;
        case TP::DOUBLE:
            return DataType::kFloat64;
        case TP::INT8:
            return DataType::kInt8;
        case TP::UINT8:
            return DataType::kUint8;
        case TP::INT16:
            return DataType::kInt16;
        case TP::INT32:
            return DataType::kInt32;
        case TP::INT64:
            return DataType::kInt64;
        case TP::BOOL:
            return DataType::kBool;
        default:
            break;
    }
    if (!TP::DataType_IsValid(elem_type) || elem_type == TP::UNDEFINED)
        return invalid_model("invalid tensor dtype ", onnx_dtype_name(elem_type), " in ", what);
    return unsupported("unsupported tensor dtype ", onnx_dtype_name(elem_type), " in ", what,
                       " (qat handles float32/16/64, int8/16/32/64, uint8 and bool)");
}

Result<Tensor> parse_tensor_proto(const std::string& bytes, const std::string& what, std::string* name) {
    TP p;
    if (bytes.empty()) return invalid_argument(what, " is empty: expected a serialized ONNX TensorProto");
    if (!p.ParseFromString(bytes))
        return invalid_argument(what, " is not a valid ONNX TensorProto (protobuf parse failed: truncated or corrupt)");
    if (p.data_type() == TP::UNDEFINED)
        return invalid_argument(what, " holds no tensor (data_type UNDEFINED): not an ONNX TensorProto file");
    if (name) *name = p.name();
    return internal::tensor_from_proto(p, what);
}

std::string serialize_tensor_proto(const Tensor& t, const std::string& name) {
    TP p;
    internal::tensor_to_proto(t, &p);
    if (!name.empty()) p.set_name(name);
    return p.SerializeAsString();
}

Result<Tensor> load_tensor_pb(const std::string& path, std::string* name) {
    QAT_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
    return parse_tensor_proto(bytes, path, name);
}

Status save_tensor_pb(const std::string& path, const Tensor& t, const std::string& name) {
    if (!t.defined()) return invalid_argument("cannot save an empty tensor to ", path);
    return write_file_atomic(path, serialize_tensor_proto(t, name));
}

namespace internal {
namespace {

// Copies typed-field values into `t`, converting each with `conv`.
template <typename Field, typename Conv>
Status copy_typed(const Field& field, const char* field_name, Tensor& t, const std::string& what, Conv conv) {
    if (static_cast<int64_t>(field.size()) != t.numel())
        return invalid_model(what, ": ", field_name, " holds ", field.size(), " values, expected ", t.numel(), " for ",
                             t.desc());
    for (int64_t i = 0; i < t.numel(); ++i) conv(i, field.Get(static_cast<int>(i)));
    return OkStatus();
}

}  // namespace

Result<Tensor> tensor_from_proto(const TP& p, const std::string& what) {
    if (p.data_location() == TP::EXTERNAL || p.external_data_size() > 0) {
        std::string location;
        for (const auto& kv : p.external_data())
            if (kv.key() == "location") location = kv.value();
        return unsupported(what, " keeps its data in an external file", location.empty() ? "" : " (" + location + ")",
                           "; qat reads only self-contained models (save the model without external data)");
    }
    if (p.has_segment()) return unsupported(what, " is a segmented tensor, which qat does not read");
    QAT_ASSIGN_OR_RETURN(DataType dtype, from_onnx_dtype(p.data_type(), what));
    std::vector<int64_t> dims(p.dims().begin(), p.dims().end());
    int64_t numel = 1;
    for (int64_t d : dims) {
        if (d < 0) return invalid_model(what, " has a negative dimension in ", dims_to_string(dims));
        if (d != 0 && numel > (int64_t{1} << 50) / d)
            return invalid_model(what, " has an impossible size ", dims_to_string(dims));
        numel *= d;
    }
    const size_t esize = dtype_size(dtype);
    if (p.has_raw_data()) {
        // Checked before allocating, so a corrupt dims field cannot ask for terabytes.
        const std::string& raw = p.raw_data();
        if (raw.size() != static_cast<size_t>(numel) * esize)
            return invalid_model(what, ": raw_data holds ", raw.size(), " bytes, expected ",
                                 static_cast<size_t>(numel) * esize, " for ", dtype_name(dtype), dims_to_string(dims));
        Tensor t = Tensor::empty(dtype, dims);
        if (dtype == DataType::kBool) {
            bool* b = t.data<bool>();
            for (int64_t i = 0; i < numel; ++i) b[i] = raw[static_cast<size_t>(i)] != 0;
        } else if (!raw.empty()) {
            std::memcpy(t.raw_data(), raw.data(), raw.size());
        }
        return t;
    }
    // Typed storage: each field must hold exactly numel values (a bound check before allocating).
    size_t available = 0;
    switch (dtype) {
        case DataType::kFloat32:
            available = p.float_data_size();
            break;
        case DataType::kFloat64:
            available = p.double_data_size();
            break;
        case DataType::kInt64:
            available = p.int64_data_size();
            break;
        default:
            available = p.int32_data_size();
            break;
    }
    if (available != static_cast<size_t>(numel))
        return invalid_model(what, " holds ", available, " values, expected ", numel, " for ", dtype_name(dtype),
                             dims_to_string(dims), numel > 0 && available == 0 ? " (no data)" : "");
    Tensor t = Tensor::empty(dtype, dims);
    switch (dtype) {
        case DataType::kFloat32:
            QAT_RETURN_IF_ERROR(
                copy_typed(p.float_data(), "float_data", t, what, [&](int64_t i, float v) { t.data<float>()[i] = v; }));
            break;
        case DataType::kFloat64:
            QAT_RETURN_IF_ERROR(copy_typed(p.double_data(), "double_data", t, what,
                                           [&](int64_t i, double v) { t.data<double>()[i] = v; }));
            break;
        case DataType::kInt64:
            QAT_RETURN_IF_ERROR(copy_typed(p.int64_data(), "int64_data", t, what,
                                           [&](int64_t i, int64_t v) { t.data<int64_t>()[i] = v; }));
            break;
        case DataType::kFloat16: {
            // float16 values travel as their 16-bit patterns in int32_data.
            auto* h = static_cast<uint16_t*>(t.raw_data());
            QAT_RETURN_IF_ERROR(copy_typed(p.int32_data(), "int32_data", t, what,
                                           [&](int64_t i, int32_t v) { h[i] = static_cast<uint16_t>(v); }));
            break;
        }
        case DataType::kInt32:
            QAT_RETURN_IF_ERROR(copy_typed(p.int32_data(), "int32_data", t, what,
                                           [&](int64_t i, int32_t v) { t.data<int32_t>()[i] = v; }));
            break;
        case DataType::kInt16:
            QAT_RETURN_IF_ERROR(copy_typed(p.int32_data(), "int32_data", t, what, [&](int64_t i, int32_t v) {
                t.data<int16_t>()[i] = static_cast<int16_t>(v);
            }));
            break;
        case DataType::kInt8:
            QAT_RETURN_IF_ERROR(copy_typed(p.int32_data(), "int32_data", t, what, [&](int64_t i, int32_t v) {
                t.data<int8_t>()[i] = static_cast<int8_t>(v);
            }));
            break;
        case DataType::kUint8:
            QAT_RETURN_IF_ERROR(copy_typed(p.int32_data(), "int32_data", t, what, [&](int64_t i, int32_t v) {
                t.data<uint8_t>()[i] = static_cast<uint8_t>(v);
            }));
            break;
        case DataType::kBool:
            QAT_RETURN_IF_ERROR(copy_typed(p.int32_data(), "int32_data", t, what,
                                           [&](int64_t i, int32_t v) { t.data<bool>()[i] = v != 0; }));
            break;
        case DataType::kUndefined:
            return internal_error("undefined dtype after mapping");
    }
    return t;
}

void tensor_to_proto(const Tensor& t, TP* p) {
    p->set_data_type(to_onnx_dtype(t.dtype()));
    for (int64_t d : t.dims()) p->add_dims(d);
    std::string* raw = p->mutable_raw_data();
    raw->resize(t.nbytes());
    if (t.dtype() == DataType::kBool) {
        const bool* b = t.data<bool>();
        for (int64_t i = 0; i < t.numel(); ++i) (*raw)[static_cast<size_t>(i)] = b[i] ? 1 : 0;
    } else if (t.nbytes() > 0) {
        std::memcpy(raw->data(), t.raw_data(), t.nbytes());
    }
}

}  // namespace internal
}  // namespace qat::onnx
