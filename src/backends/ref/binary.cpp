// Binary (and variadic) element-wise ops with numpy-style broadcasting: Add, Sub, Mul, Div, Pow,
// PRelu, Max, Min, the comparisons, Where.
//
// Integer arithmetic wraps like numpy (no signed-overflow UB); integer Div truncates toward zero
// like the ONNX reference and refuses a zero divisor instead of trapping. Pow accepts a base and
// an exponent of different dtypes (opsets 12, 13, 15) and returns the base's dtype.
#include <cmath>
#include <cstring>

#include "backends/ref/broadcast.h"
#include "backends/ref/elementwise.h"
#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_tensor_util.h"

namespace qat::ref {
namespace {

Status broadcast_error(const ir::Node& node, const Tensor& a, const Tensor& b) {
    return runtime::kernel_error(node, "cannot broadcast ", dims_to_string(a.dims()), " with ",
                                 dims_to_string(b.dims()));
}

// y[i] = fn(a[ia], b[ib]) over the broadcast shape; R is fn's result type (T, or bool for the
// comparisons).
template <typename T, typename R, typename Fn>
void broadcast_apply(const Tensor& a, const Tensor& b, Tensor& y, const Fn& fn) {
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    R* py = y.data<R>();
    for_each_broadcast<2>(y.dims(), {a.dims(), b.dims()},
                          [&](int64_t i, const std::array<int64_t, 2>& off) { py[i] = fn(pa[off[0]], pb[off[1]]); });
}

// Both inputs of one dtype of Types; the output has that dtype, or bool when fn returns bool.
template <typename Types, typename Fn>
Status run_binary(runtime::KernelContext& ctx, const Fn& fn) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* a, required_input(ctx, 0, "A"));
    QAT_ASSIGN_OR_RETURN(const Tensor* b, required_input(ctx, 1, "B"));
    if (a->dtype() != b->dtype())
        return runtime::kernel_error(node, "inputs have different dtypes ", dtype_name(a->dtype()), " and ",
                                     dtype_name(b->dtype()));
    if (!dtype_allowed(Types{}, a->dtype())) return dtype_error(node, "A", a->dtype(), Types{});
    std::vector<int64_t> out;
    if (!broadcast_shapes(a->dims(), b->dims(), &out)) return broadcast_error(node, *a, *b);
    QAT_RETURN_IF_ERROR(checked_numel(node, out, a->dtype()).status());
    if (a->dtype() == DataType::kFloat16) {
        if constexpr (type_in<float>(Types{})) {
            using R = decltype(fn(0.0f, 0.0f));
            const Tensor af = half_as_float(*a);
            const Tensor bf = half_as_float(*b);
            if constexpr (std::is_same_v<R, bool>) {
                broadcast_apply<float, bool>(af, bf, ctx.allocate_output(0, DataType::kBool, out), fn);
            } else {
                Tensor yf = Tensor::empty(DataType::kFloat32, out);
                broadcast_apply<float, float>(af, bf, yf, fn);
                float_into_half(yf, ctx.allocate_output(0, DataType::kFloat16, out));
            }
        }
        return OkStatus();
    }
    dispatch_types(Types{}, a->dtype(), [&]<typename T>() {
        using R = decltype(fn(T{}, T{}));
        broadcast_apply<T, R>(*a, *b, ctx.allocate_output(0, dtype_of<R>, out), fn);
    });
    return OkStatus();
}

template <typename Types, typename Fn>
void add_binary(runtime::KernelRegistry& reg, const std::string& op, Fn fn) {
    add_ref_kernel(
        reg, op,
        [fn](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
            return make_fn_kernel([fn](runtime::KernelContext& ctx) { return run_binary<Types>(ctx, fn); });
        },
        supports_dtypes(Types{}, {0, 1}));
}

Status run_div(runtime::KernelContext& ctx) {
    bool divided_by_zero = false;
    auto div = [&divided_by_zero](auto a, auto b) {
        using T = decltype(a);
        if constexpr (std::is_integral_v<T>) {
            if (b == T(0)) {
                divided_by_zero = true;
                return T(0);
            }
            // INT_MIN / -1 overflows (and traps on x86): numpy wraps it to INT_MIN.
            if constexpr (std::is_signed_v<T>)
                if (b == T(-1)) return wrap_neg(a);
            return static_cast<T>(a / b);  // C++ integer division truncates toward zero
        } else {
            return a / b;
        }
    };
    QAT_RETURN_IF_ERROR(run_binary<NumericTypes>(ctx, div));
    if (divided_by_zero) return runtime::kernel_error(ctx.node(), "integer division by zero");
    return OkStatus();
}

// base^exponent for integers by squaring, wrapping on overflow like numpy; exponent >= 0.
template <typename T>
T int_pow(T base, int64_t exponent) {
    T result = T(1);
    while (exponent > 0) {
        if (exponent & 1) result = wrap_mul(result, base);
        base = wrap_mul(base, base);
        exponent >>= 1;
    }
    return result;
}

// One element of Pow. Integer ^ non-negative integer is exact; everything else is computed in
// double and converted to the base's type (an integer base truncates toward zero, as numpy's
// astype after a float power).
template <typename T, typename E>
T pow_value(T base, E exponent) {
    if constexpr (std::is_integral_v<T> && std::is_integral_v<E>) {
        if (exponent >= E(0)) return int_pow(base, static_cast<int64_t>(exponent));
    }
    return convert_value<T>(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
}

Status run_pow(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "X"));
    QAT_ASSIGN_OR_RETURN(const Tensor* y, required_input(ctx, 1, "Y"));
    if (!dtype_allowed(NumericTypes{}, x->dtype())) return dtype_error(node, "X", x->dtype(), NumericTypes{});
    if (!dtype_allowed(NumericTypes{}, y->dtype())) return dtype_error(node, "Y", y->dtype(), NumericTypes{});
    std::vector<int64_t> out;
    if (!broadcast_shapes(x->dims(), y->dims(), &out)) return broadcast_error(node, *x, *y);
    QAT_RETURN_IF_ERROR(checked_numel(node, out, x->dtype()).status());
    const Tensor base = half_as_float(*x);
    const Tensor exponent = half_as_float(*y);
    Tensor z = x->dtype() == DataType::kFloat16 ? Tensor::empty(DataType::kFloat32, out)
                                                : ctx.allocate_output(0, x->dtype(), out);
    dispatch_types(NumericTypes{}, base.dtype(), [&]<typename T>() {
        dispatch_types(NumericTypes{}, exponent.dtype(), [&]<typename E>() {
            const T* pb = base.data<T>();
            const E* pe = exponent.data<E>();
            T* pz = z.data<T>();
            for_each_broadcast<2>(out, {base.dims(), exponent.dims()}, [&](int64_t i, const std::array<int64_t, 2>& o) {
                pz[i] = pow_value<T, E>(pb[o[0]], pe[o[1]]);
            });
        });
    });
    if (x->dtype() == DataType::kFloat16) float_into_half(z, ctx.allocate_output(0, DataType::kFloat16, out));
    return OkStatus();
}

// PRelu: slope broadcasts unidirectionally to X (the output has X's shape).
Status run_prelu(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "X"));
    QAT_ASSIGN_OR_RETURN(const Tensor* slope, required_input(ctx, 1, "slope"));
    if (x->dtype() != slope->dtype())
        return runtime::kernel_error(node, "X has dtype ", dtype_name(x->dtype()), ", slope has ",
                                     dtype_name(slope->dtype()));
    if (!dtype_allowed(NumericTypes{}, x->dtype())) return dtype_error(node, "X", x->dtype(), NumericTypes{});
    if (!broadcastable_to(slope->dims(), x->dims()))
        return runtime::kernel_error(node, "cannot broadcast slope ", dims_to_string(slope->dims()), " to X ",
                                     dims_to_string(x->dims()));
    auto apply = [&]<typename T>(const Tensor& xin, const Tensor& sin, Tensor& yout) {
        const T* px = xin.data<T>();
        const T* ps = sin.data<T>();
        T* py = yout.data<T>();
        for_each_broadcast<2>(xin.dims(), {xin.dims(), sin.dims()}, [&](int64_t i, const std::array<int64_t, 2>& o) {
            py[i] = px[o[0]] < T(0) ? wrap_mul(ps[o[1]], px[o[0]]) : px[o[0]];
        });
    };
    if (x->dtype() == DataType::kFloat16) {
        Tensor yf = Tensor::empty(DataType::kFloat32, x->dims());
        apply.template operator()<float>(half_as_float(*x), half_as_float(*slope), yf);
        float_into_half(yf, ctx.allocate_output(0, DataType::kFloat16, x->dims()));
        return OkStatus();
    }
    Tensor& y = ctx.allocate_output(0, x->dtype(), x->dims());
    dispatch_types(NumericTypes{}, x->dtype(), [&]<typename T>() { apply.template operator()<T>(*x, *slope, y); });
    return OkStatus();
}

// Max / Min over one or more inputs, all broadcast together. NaN wins, as in numpy's
// maximum/minimum (which the ONNX reference uses).
template <bool kMax>
Status run_max_min(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    if (ctx.num_inputs() == 0) return runtime::kernel_error(node, "needs at least one input");
    std::vector<Tensor> ins;
    std::vector<std::vector<int64_t>> shapes;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
        QAT_ASSIGN_OR_RETURN(const Tensor* t, required_input(ctx, i, "data"));
        if (t->dtype() != ctx.input(0)->dtype())
            return runtime::kernel_error(node, "input ", i, " has dtype ", dtype_name(t->dtype()), ", input 0 has ",
                                         dtype_name(ctx.input(0)->dtype()));
        ins.push_back(half_as_float(*t));
        shapes.push_back(t->dims());
    }
    const DataType dtype = ctx.input(0)->dtype();
    if (!dtype_allowed(NumericTypes{}, dtype)) return dtype_error(node, "0", dtype, NumericTypes{});
    std::vector<int64_t> out;
    if (!broadcast_shapes(shapes, &out)) {
        std::string all;
        for (const auto& s : shapes) all += (all.empty() ? "" : ", ") + dims_to_string(s);
        return runtime::kernel_error(node, "cannot broadcast ", all, " together");
    }
    QAT_RETURN_IF_ERROR(checked_numel(node, out, dtype).status());
    Tensor y =
        dtype == DataType::kFloat16 ? Tensor::empty(DataType::kFloat32, out) : ctx.allocate_output(0, dtype, out);
    dispatch_types(NumericTypes{}, ins[0].dtype(), [&]<typename T>() {
        T* py = y.data<T>();
        copy_strided(ins[0].raw_data(), 0, broadcast_strides(ins[0].dims(), out), out, py, sizeof(T));
        for (size_t k = 1; k < ins.size(); ++k) {
            const T* pk = ins[k].data<T>();
            for_each_broadcast<2>(out, {out, ins[k].dims()}, [&](int64_t i, const std::array<int64_t, 2>& o) {
                const T a = py[i];
                const T b = pk[o[1]];
                if constexpr (std::is_floating_point_v<T>) {
                    if (std::isnan(a) || std::isnan(b)) {
                        py[i] = std::isnan(a) ? a : b;
                        return;
                    }
                }
                py[i] = (kMax ? b > a : b < a) ? b : a;
            });
        }
    });
    if (dtype == DataType::kFloat16) float_into_half(y, ctx.allocate_output(0, DataType::kFloat16, out));
    return OkStatus();
}

// Where(condition, X, Y): element-wise select over the broadcast of all three; any dtype (the
// elements are copied as bytes).
Status run_where(runtime::KernelContext& ctx) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* c, required_input(ctx, 0, "condition"));
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 1, "X"));
    QAT_ASSIGN_OR_RETURN(const Tensor* y, required_input(ctx, 2, "Y"));
    if (c->dtype() != DataType::kBool)
        return runtime::kernel_error(node, "condition must be bool, got ", dtype_name(c->dtype()));
    if (x->dtype() != y->dtype())
        return runtime::kernel_error(node, "X has dtype ", dtype_name(x->dtype()), ", Y has ", dtype_name(y->dtype()));
    std::vector<int64_t> out;
    if (!broadcast_shapes({c->dims(), x->dims(), y->dims()}, &out))
        return runtime::kernel_error(node, "cannot broadcast ", dims_to_string(c->dims()), ", ",
                                     dims_to_string(x->dims()), " and ", dims_to_string(y->dims()));
    QAT_RETURN_IF_ERROR(checked_numel(node, out, x->dtype()).status());
    Tensor& z = ctx.allocate_output(0, x->dtype(), out);
    const size_t es = dtype_size(x->dtype());
    const bool* pc = c->data<bool>();
    const auto* px = static_cast<const uint8_t*>(x->raw_data());
    const auto* py = static_cast<const uint8_t*>(y->raw_data());
    auto* pz = static_cast<uint8_t*>(z.raw_data());
    for_each_broadcast<3>(out, {c->dims(), x->dims(), y->dims()}, [&](int64_t i, const std::array<int64_t, 3>& o) {
        const uint8_t* src = pc[o[0]] ? px + o[1] * es : py + o[2] * es;
        std::memcpy(pz + i * es, src, es);
    });
    return OkStatus();
}

void add_plain(runtime::KernelRegistry& reg, const std::string& op, KernelFn fn,
               std::function<Status(const ir::Node&)> supports = nullptr) {
    add_ref_kernel(
        reg, op, [fn](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> { return make_fn_kernel(fn); },
        std::move(supports));
}

}  // namespace

void register_binary_kernels(runtime::KernelRegistry& reg) {
    // The ONNX arithmetic ops take (u)int8/int16 since opset 14; the reference takes them always.
    add_binary<NumericTypes>(reg, "Add", [](auto a, auto b) { return wrap_add(a, b); });
    add_binary<NumericTypes>(reg, "Sub", [](auto a, auto b) { return wrap_sub(a, b); });
    add_binary<NumericTypes>(reg, "Mul", [](auto a, auto b) { return wrap_mul(a, b); });
    add_plain(reg, "Div", run_div, supports_dtypes(NumericTypes{}, {0, 1}));
    add_plain(reg, "Pow", run_pow, supports_dtypes(NumericTypes{}, {0, 1}));
    add_plain(reg, "PRelu", run_prelu, supports_dtypes(NumericTypes{}, {0, 1}));
    add_plain(reg, "Max", run_max_min<true>, supports_dtypes(NumericTypes{}));
    add_plain(reg, "Min", run_max_min<false>, supports_dtypes(NumericTypes{}));
    add_plain(reg, "Where", run_where);

    add_binary<AllTypes>(reg, "Equal", [](auto a, auto b) { return a == b; });
    add_binary<NumericTypes>(reg, "Greater", [](auto a, auto b) { return a > b; });
    add_binary<NumericTypes>(reg, "Less", [](auto a, auto b) { return a < b; });
    add_binary<NumericTypes>(reg, "GreaterOrEqual", [](auto a, auto b) { return a >= b; });
    add_binary<NumericTypes>(reg, "LessOrEqual", [](auto a, auto b) { return a <= b; });
}

}  // namespace qat::ref
