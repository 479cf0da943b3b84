#include "core/dtype.h"

#include <cstring>

namespace qat {

size_t dtype_size(DataType t) {
    switch (t) {
        case DataType::kFloat32: return 4;
        case DataType::kFloat16: return 2;
        case DataType::kFloat64: return 8;
        case DataType::kInt8: return 1;
        case DataType::kUint8: return 1;
        case DataType::kInt16: return 2;
        case DataType::kInt32: return 4;
        case DataType::kInt64: return 8;
        case DataType::kBool: return 1;
        case DataType::kUndefined: return 0;
    }
    return 0;
}

const char* dtype_name(DataType t) {
    switch (t) {
        case DataType::kFloat32: return "f32";
        case DataType::kFloat16: return "f16";
        case DataType::kFloat64: return "f64";
        case DataType::kInt8: return "i8";
        case DataType::kUint8: return "u8";
        case DataType::kInt16: return "i16";
        case DataType::kInt32: return "i32";
        case DataType::kInt64: return "i64";
        case DataType::kBool: return "bool";
        case DataType::kUndefined: return "undef";
    }
    return "undef";
}

DataType dtype_from_name(std::string_view n) {
    if (n == "f32" || n == "float32" || n == "float") return DataType::kFloat32;
    if (n == "f16" || n == "float16") return DataType::kFloat16;
    if (n == "f64" || n == "float64" || n == "double") return DataType::kFloat64;
    if (n == "i8" || n == "int8") return DataType::kInt8;
    if (n == "u8" || n == "uint8") return DataType::kUint8;
    if (n == "i16" || n == "int16") return DataType::kInt16;
    if (n == "i32" || n == "int32") return DataType::kInt32;
    if (n == "i64" || n == "int64") return DataType::kInt64;
    if (n == "bool") return DataType::kBool;
    return DataType::kUndefined;
}

float half_to_float(uint16_t h) {
    uint32_t sign = (h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            exp = 127 - 15 + 1;
            while ((mant & 0x400) == 0) {
                mant <<= 1;
                --exp;
            }
            mant &= 0x3ff;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t float_to_half(float f) {
    uint32_t x;
    std::memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t exp = (x >> 23) & 0xff;
    uint32_t mant = x & 0x7fffffu;
    if (exp == 0xff) return static_cast<uint16_t>(sign | 0x7c00u | (mant ? 0x200u : 0));  // inf / nan
    int32_t e = static_cast<int32_t>(exp) - 127 + 15;
    if (e >= 0x1f) return static_cast<uint16_t>(sign | 0x7c00u);  // overflow -> inf
    if (e <= 0) {
        if (e < -10) return static_cast<uint16_t>(sign);  // underflow -> signed zero
        mant |= 0x800000u;
        uint32_t shift = static_cast<uint32_t>(14 - e);
        uint32_t half_mant = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (half_mant & 1))) ++half_mant;
        return static_cast<uint16_t>(sign | half_mant);
    }
    uint32_t half = sign | (static_cast<uint32_t>(e) << 10) | (mant >> 13);
    uint32_t rem = mant & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1))) ++half;  // may carry into exponent: correct
    return static_cast<uint16_t>(half);
}

}  // namespace qat
