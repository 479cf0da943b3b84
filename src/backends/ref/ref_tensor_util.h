// Helpers shared by the reference element-wise and shape kernels: compile-time dtype lists and
// dispatch, dtype errors that name the node, integer-list inputs (shapes, axes, starts),
// float16 <-> float32 staging, and the value conversions of Cast. The generic input checks
// (required_input, normalize_axis, ...) are ref_util.h's.
//
//   QAT_ASSIGN_OR_RETURN(const Tensor* x, ref::required_input(ctx, 0, "X"));
//   bool done = ref::dispatch_types(ref::FloatTypes{}, x->dtype(), [&]<typename T>() { ... });
//   if (!done) return ref::dtype_error(ctx.node(), "X", x->dtype(), ref::FloatTypes{});
//
// float16 is stored as raw uint16_t and is never dispatched: kernels stage it through float32
// (ONNX allows float16 wherever an op allows float32, and computing in float32 then rounding to
// half is what ONNX Runtime's reference paths do too).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "backends/ref/ref_util.h"  // required_input, normalize_axis, output_is_read
#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "runtime/kernel.h"

namespace qat::ref {

// ---- compile-time dtype lists ----
template <typename... Ts>
struct TypeList {};
using FloatTypes = TypeList<float, double>;
using IntTypes = TypeList<int8_t, uint8_t, int16_t, int32_t, int64_t>;
using SignedTypes = TypeList<float, double, int8_t, int16_t, int32_t, int64_t>;
using NumericTypes = TypeList<float, double, int8_t, uint8_t, int16_t, int32_t, int64_t>;
using AllTypes = TypeList<float, double, int8_t, uint8_t, int16_t, int32_t, int64_t, bool>;

template <typename T, typename... Ts>
constexpr bool type_in(TypeList<Ts...>) {
    return (std::is_same_v<T, Ts> || ...);
}

// Whether a list admits dtype t; float16 counts as allowed wherever float32 is.
template <typename... Ts>
bool dtype_allowed(TypeList<Ts...> list, DataType t) {
    if (t == DataType::kFloat16) return type_in<float>(list);
    return ((t == dtype_of<Ts>) || ...);
}

// "f32, f16, f64" for messages.
template <typename... Ts>
std::string dtype_list_string(TypeList<Ts...> list) {
    std::string s;
    auto add = [&](DataType t) { s += (s.empty() ? "" : ", ") + std::string(dtype_name(t)); };
    ((add(dtype_of<Ts>), std::is_same_v<Ts, float> ? add(DataType::kFloat16) : void()), ...);
    (void)list;
    return s;
}

// Calls f.template operator()<T>() for the C++ type T of `t` when T is in the list; returns
// false otherwise (float16 included: stage it through float32 first).
template <typename... Ts, typename F>
bool dispatch_types(TypeList<Ts...>, DataType t, F&& f) {
    return ((t == dtype_of<Ts> ? (f.template operator()<Ts>(), true) : false) || ...);
}

// ---- errors and input checks ----

// "<node>: input X has dtype bool, expected one of f32, f16, f64".
template <typename... Ts>
Status dtype_error(const ir::Node& node, const char* what, DataType got, TypeList<Ts...> list) {
    return runtime::kernel_error(node, "input ", what, " has dtype ", dtype_name(got), ", expected one of ",
                                 dtype_list_string(list));
}

// supports() for an op whose listed inputs must have a dtype of the list: declines with the
// reason when the graph declares another dtype (undeclared dtypes are checked at run time).
template <typename... Ts>
std::function<Status(const ir::Node&)> supports_dtypes(TypeList<Ts...> list, std::vector<size_t> inputs = {0}) {
    return [list, inputs](const ir::Node& node) -> Status {
        for (size_t i : inputs) {
            const ir::Value* v = node.input(i);
            if (!v || v->dtype() == DataType::kUndefined) continue;
            if (!dtype_allowed(list, v->dtype()))
                return unsupported("ref ", node.op_type(), " does not support dtype ", dtype_name(v->dtype()),
                                   " (input ", i, "; supported: ", dtype_list_string(list), ")");
        }
        return OkStatus();
    };
}

// Values of a 0-D or 1-D int32/int64 tensor (shape, axes, starts, split, ...).
Result<std::vector<int64_t>> read_int_list(const ir::Node& node, const Tensor& t, const char* what);

// Element count of dims for a tensor a kernel is about to create from input values (Expand,
// ConstantOfShape, broadcast outputs): errors on negative dims, on overflow and above 16 GiB, so
// a bad shape tensor gives a message instead of an abort in the allocator.
Result<int64_t> checked_numel(const ir::Node& node, const std::vector<int64_t>& dims, DataType dtype);

// ---- float16 staging ----

// A float32 copy of a float16 tensor (other tensors are returned as they are, sharing the buffer).
Tensor half_as_float(const Tensor& t);
// Writes a float32 tensor into an existing float16 tensor of the same element count.
void float_into_half(const Tensor& f32, Tensor& f16);

// ---- value conversion (the semantics of Cast) ----

// Float to integer: truncation toward zero; out-of-range values saturate and NaN gives 0 (ONNX
// leaves both undefined; saturating keeps the reference free of undefined behaviour).
template <typename To, typename From>
To float_to_int(From v) {
    static_assert(std::is_floating_point_v<From> && std::is_integral_v<To>);
    if (std::isnan(v)) return To(0);
    const From t = std::trunc(v);
    if (t <= static_cast<From>(std::numeric_limits<To>::lowest())) return std::numeric_limits<To>::lowest();
    // max() of int64 is not representable as a float: compare against 2^bits (exact) instead.
    if (t >= static_cast<From>(std::numeric_limits<To>::max()) + From(1)) return std::numeric_limits<To>::max();
    return static_cast<To>(t);
}

// One element converted like ONNX Cast: float -> int truncates (float_to_int), int -> narrower
// int wraps modulo 2^bits (as numpy's astype), anything -> bool is `!= 0`, bool -> 0 or 1.
template <typename To, typename From>
To convert_value(From v) {
    if constexpr (std::is_same_v<To, bool>) {
        return v != From(0);
    } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
        return float_to_int<To>(v);
    } else {
        return static_cast<To>(v);
    }
}

// ---- wrapping integer arithmetic (numpy semantics, no signed-overflow UB) ----
template <typename T>
T wrap_add(T a, T b) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        using U = std::make_unsigned_t<T>;
        return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
    } else {
        return a + b;
    }
}
template <typename T>
T wrap_sub(T a, T b) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        using U = std::make_unsigned_t<T>;
        return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
    } else {
        return a - b;
    }
}
template <typename T>
T wrap_mul(T a, T b) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        // Small types promote to int, whose product of two 16-bit values can overflow: multiply
        // in the unsigned type of at least 32 bits.
        using U = std::conditional_t<(sizeof(T) < 4), uint32_t, std::make_unsigned_t<T>>;
        return static_cast<T>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
    } else {
        return a * b;
    }
}
template <typename T>
T wrap_neg(T a) {
    return wrap_sub<T>(T(0), a);
}

}  // namespace qat::ref
