// DataType and its traits. The numbering is ours; onnx/ maps it to TensorProto::DataType.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace qat {

enum class DataType : uint8_t {
    kUndefined = 0,
    kFloat32,
    kFloat16,
    kFloat64,  // only so ONNX models and test data that carry doubles can be read and cast
    kInt8,
    kUint8,
    kInt16,
    kInt32,
    kInt64,
    kBool,
};

// Bytes per element (0 for kUndefined).
size_t dtype_size(DataType t);
// Short name used in the text IR and messages: f32, f16, f64, i8, u8, i16, i32, i64, bool.
const char* dtype_name(DataType t);
// Parses dtype_name's output (and the long forms float32, int8, ...). kUndefined when unknown.
DataType dtype_from_name(std::string_view name);

inline bool is_float(DataType t) {
    return t == DataType::kFloat32 || t == DataType::kFloat16 || t == DataType::kFloat64;
}
inline bool is_integer(DataType t) {
    return t == DataType::kInt8 || t == DataType::kUint8 || t == DataType::kInt16 || t == DataType::kInt32 ||
           t == DataType::kInt64;
}
inline bool is_quantized_type(DataType t) { return t == DataType::kInt8 || t == DataType::kUint8; }

// Compile-time mapping C++ type -> DataType.
template <typename T>
struct DataTypeOf;
template <> struct DataTypeOf<float> { static constexpr DataType value = DataType::kFloat32; };
template <> struct DataTypeOf<double> { static constexpr DataType value = DataType::kFloat64; };
template <> struct DataTypeOf<int8_t> { static constexpr DataType value = DataType::kInt8; };
template <> struct DataTypeOf<uint8_t> { static constexpr DataType value = DataType::kUint8; };
template <> struct DataTypeOf<int16_t> { static constexpr DataType value = DataType::kInt16; };
template <> struct DataTypeOf<int32_t> { static constexpr DataType value = DataType::kInt32; };
template <> struct DataTypeOf<int64_t> { static constexpr DataType value = DataType::kInt64; };
template <> struct DataTypeOf<bool> { static constexpr DataType value = DataType::kBool; };
template <typename T>
inline constexpr DataType dtype_of = DataTypeOf<T>::value;

// Calls f.template operator()<T>() with the C++ type of `t` (float16 is stored as uint16_t and
// is not dispatched here: convert it first). Returns false when `t` has no C++ type.
template <typename F>
bool dispatch_dtype(DataType t, F&& f) {
    switch (t) {
        case DataType::kFloat32: f.template operator()<float>(); return true;
        case DataType::kFloat64: f.template operator()<double>(); return true;
        case DataType::kInt8: f.template operator()<int8_t>(); return true;
        case DataType::kUint8: f.template operator()<uint8_t>(); return true;
        case DataType::kInt16: f.template operator()<int16_t>(); return true;
        case DataType::kInt32: f.template operator()<int32_t>(); return true;
        case DataType::kInt64: f.template operator()<int64_t>(); return true;
        case DataType::kBool: f.template operator()<bool>(); return true;
        default: return false;
    }
}

// IEEE half <-> float (round to nearest even), for float16 tensors.
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);

}  // namespace qat
