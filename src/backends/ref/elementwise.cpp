// Unary element-wise ops and Clip; register_elementwise_kernels also pulls in binary.cpp.
//
// Transcendental functions compute in double and round once to the tensor's type, so the oracle
// is at least as accurate as any backend it judges. float16 is staged through float32.
#include "backends/ref/elementwise.h"

#include <cmath>
#include <limits>

#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_tensor_util.h"

namespace qat::ref {
namespace {

// y[i] = fn(x[i]) for every dtype of Types (float16 through float32 when Types has float).
template <typename Types, typename Fn>
Status run_unary(runtime::KernelContext& ctx, const Fn& fn) {
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "X"));
    if (!dtype_allowed(Types{}, x->dtype())) return dtype_error(ctx.node(), "X", x->dtype(), Types{});
    auto map = [&]<typename T>(const Tensor& in, Tensor& out) {
        const T* xp = in.data<T>();
        T* yp = out.data<T>();
        for (int64_t i = 0; i < in.numel(); ++i) yp[i] = static_cast<T>(fn(xp[i]));
    };
    if (x->dtype() == DataType::kFloat16) {
        if constexpr (type_in<float>(Types{})) {
            Tensor yf = Tensor::empty(DataType::kFloat32, x->dims());
            map.template operator()<float>(half_as_float(*x), yf);
            float_into_half(yf, ctx.allocate_output(0, DataType::kFloat16, x->dims()));
        }
        return OkStatus();
    }
    Tensor& y = ctx.allocate_output(0, x->dtype(), x->dims());
    dispatch_types(Types{}, x->dtype(), [&]<typename T>() { map.template operator()<T>(*x, y); });
    return OkStatus();
}

// A unary op whose function depends on the node's attributes: make(node) returns the function
// (a generic lambda), read once when the kernel is created.
template <typename Types, typename Make>
void add_unary_with_attrs(runtime::KernelRegistry& reg, const std::string& op, Make make) {
    add_ref_kernel(
        reg, op,
        [make](const ir::Node& node) -> Result<std::unique_ptr<runtime::Kernel>> {
            auto fn = make(node);
            return make_fn_kernel([fn](runtime::KernelContext& ctx) { return run_unary<Types>(ctx, fn); });
        },
        supports_dtypes(Types{}));
}

template <typename Types, typename Fn>
void add_unary(runtime::KernelRegistry& reg, const std::string& op, Fn fn) {
    add_unary_with_attrs<Types>(reg, op, [fn](const ir::Node&) { return fn; });
}

// Wraps a double -> double function into a generic element function that computes in double.
template <typename F>
auto in_double(F f) {
    return [f](auto x) { return static_cast<decltype(x)>(f(static_cast<double>(x))); };
}

// max(0, min(1, alpha * x + beta)) with NaN passing through (std::min/max would drop it).
template <typename T>
T hard_sigmoid(T x, T alpha, T beta) {
    T v = alpha * x + beta;
    if (v < T(0)) return T(0);
    if (v > T(1)) return T(1);
    return v;
}

// Clip: bounds from attributes (opset < 11, float only) or from the optional scalar inputs 1
// and 2 (opset >= 11, any numeric dtype). numpy's clip order, min(max(x, lo), hi), so lo > hi
// gives hi everywhere, as the ONNX spec says.
Status run_clip(runtime::KernelContext& ctx, float attr_min, float attr_max) {
    const ir::Node& node = ctx.node();
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "input"));
    const bool from_inputs = node.opset() >= 11;
    if (!from_inputs && !dtype_allowed(FloatTypes{}, x->dtype()))
        return dtype_error(node, "input", x->dtype(), FloatTypes{});
    if (from_inputs && !dtype_allowed(NumericTypes{}, x->dtype()))
        return dtype_error(node, "input", x->dtype(), NumericTypes{});
    const Tensor* lo_t = from_inputs ? ctx.input(1) : nullptr;
    const Tensor* hi_t = from_inputs ? ctx.input(2) : nullptr;
    for (const Tensor* b : {lo_t, hi_t}) {
        if (!b) continue;
        const char* what = b == lo_t ? "min" : "max";
        if (b->dtype() != x->dtype())
            return runtime::kernel_error(node, what, " has dtype ", dtype_name(b->dtype()), ", input has ",
                                         dtype_name(x->dtype()));
        if (b->numel() != 1)
            return runtime::kernel_error(node, what, " must be a scalar, got shape ", dims_to_string(b->dims()));
    }
    auto clip = [&]<typename T>(const Tensor& in, const Tensor* lo_in, const Tensor* hi_in, Tensor& out) {
        T lo = std::numeric_limits<T>::lowest();
        T hi = std::numeric_limits<T>::max();
        if (!from_inputs) {
            lo = static_cast<T>(attr_min);
            hi = static_cast<T>(attr_max);
        }
        if (lo_in) lo = lo_in->data<T>()[0];
        if (hi_in) hi = hi_in->data<T>()[0];
        const T* xp = in.data<T>();
        T* yp = out.data<T>();
        for (int64_t i = 0; i < in.numel(); ++i) {
            T v = xp[i] < lo ? lo : xp[i];
            yp[i] = v > hi ? hi : v;
        }
    };
    if (x->dtype() == DataType::kFloat16) {
        Tensor lo_f = lo_t ? half_as_float(*lo_t) : Tensor();
        Tensor hi_f = hi_t ? half_as_float(*hi_t) : Tensor();
        Tensor yf = Tensor::empty(DataType::kFloat32, x->dims());
        clip.template operator()<float>(half_as_float(*x), lo_t ? &lo_f : nullptr, hi_t ? &hi_f : nullptr, yf);
        float_into_half(yf, ctx.allocate_output(0, DataType::kFloat16, x->dims()));
        return OkStatus();
    }
    Tensor& y = ctx.allocate_output(0, x->dtype(), x->dims());
    dispatch_types(NumericTypes{}, x->dtype(), [&]<typename T>() { clip.template operator()<T>(*x, lo_t, hi_t, y); });
    return OkStatus();
}

}  // namespace

void register_unary_kernels(runtime::KernelRegistry& reg) {
    // Relu takes signed integers since opset 14; the reference accepts them at every opset.
    add_unary<SignedTypes>(reg, "Relu", [](auto x) { return x < 0 ? decltype(x)(0) : x; });
    add_unary_with_attrs<FloatTypes>(reg, "LeakyRelu", [](const ir::Node& n) {
        const float alpha = n.attr_float("alpha", 0.01f);
        return [alpha](auto x) {
            using T = decltype(x);
            return x < T(0) ? static_cast<T>(alpha) * x : x;
        };
    });
    add_unary_with_attrs<FloatTypes>(reg, "HardSigmoid", [](const ir::Node& n) {
        const float alpha = n.attr_float("alpha", 0.2f);
        const float beta = n.attr_float("beta", 0.5f);
        return [alpha, beta](auto x) {
            using T = decltype(x);
            return hard_sigmoid<T>(x, static_cast<T>(alpha), static_cast<T>(beta));
        };
    });
    // HardSwish(x) = x * HardSigmoid(x) with alpha = 1/6, beta = 0.5 (the spec's definition).
    add_unary<FloatTypes>(reg, "HardSwish", in_double([](double x) { return x * hard_sigmoid(x, 1.0 / 6.0, 0.5); }));
    add_unary_with_attrs<FloatTypes>(reg, "Elu", [](const ir::Node& n) {
        const double alpha = n.attr_float("alpha", 1.0f);
        return in_double([alpha](double x) { return x < 0 ? alpha * (std::exp(x) - 1.0) : x; });
    });
    add_unary<FloatTypes>(reg, "Sigmoid", in_double([](double x) { return 1.0 / (1.0 + std::exp(-x)); }));
    add_unary<FloatTypes>(reg, "Tanh", in_double([](double x) { return std::tanh(x); }));
    add_unary<FloatTypes>(reg, "Exp", in_double([](double x) { return std::exp(x); }));
    add_unary<FloatTypes>(reg, "Log", in_double([](double x) { return std::log(x); }));
    add_unary<FloatTypes>(reg, "Sqrt", in_double([](double x) { return std::sqrt(x); }));
    add_unary<FloatTypes>(reg, "Reciprocal", in_double([](double x) { return 1.0 / x; }));
    add_unary<FloatTypes>(reg, "Floor", in_double([](double x) { return std::floor(x); }));
    add_unary<FloatTypes>(reg, "Ceil", in_double([](double x) { return std::ceil(x); }));
    add_unary<FloatTypes>(reg, "Sin", in_double([](double x) { return std::sin(x); }));
    add_unary<FloatTypes>(reg, "Cos", in_double([](double x) { return std::cos(x); }));
    add_unary<FloatTypes>(reg, "Erf", in_double([](double x) { return std::erf(x); }));
    // Integer Neg/Abs wrap at the minimum value, as numpy does.
    add_unary<SignedTypes>(reg, "Neg", [](auto x) { return wrap_neg(x); });
    add_unary<NumericTypes>(reg, "Abs", [](auto x) {
        using T = decltype(x);
        if constexpr (std::is_floating_point_v<T>) {
            return std::fabs(x);
        } else if constexpr (std::is_signed_v<T>) {
            return x < 0 ? wrap_neg(x) : x;
        } else {
            return x;
        }
    });

    add_ref_kernel(
        reg, "Clip",
        [](const ir::Node& node) -> Result<std::unique_ptr<runtime::Kernel>> {
            const float lo = node.attr_float("min", std::numeric_limits<float>::lowest());
            const float hi = node.attr_float("max", std::numeric_limits<float>::max());
            return make_fn_kernel([lo, hi](runtime::KernelContext& ctx) { return run_clip(ctx, lo, hi); });
        },
        [](const ir::Node& node) -> Status {
            if (node.opset() < 11) return supports_dtypes(FloatTypes{})(node);
            return supports_dtypes(NumericTypes{}, {0, 1, 2})(node);
        });
}

void register_elementwise_kernels(runtime::KernelRegistry& reg) {
    register_unary_kernels(reg);
    register_binary_kernels(reg);
}

}  // namespace qat::ref
