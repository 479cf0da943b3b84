// Cast, CastLike, Constant, ConstantOfShape.
//
// Cast converts between every qat DataType (f32, f16, f64, i8, u8, i16, i32, i64, bool) with the
// rules of ref::convert_value: float -> int truncates toward zero (saturating, NaN -> 0),
// int -> narrower int wraps, x -> bool is x != 0. float16 goes through float32 both ways (a
// double -> half cast therefore rounds twice, which can differ from a direct rounding only for
// values within 2^-29 relative of a half-way point). String and bfloat16 are refused in
// supports(), with the reason.
#include <cstring>
#include <limits>

#include "backends/ref/ref_ops.h"
#include "backends/ref/ref_tensor_util.h"
#include "backends/ref/shape_ops.h"

namespace qat::ref {
namespace {

// ONNX TensorProto.DataType numbers (stable in the ONNX spec). Kept here rather than taken
// from onnx/, which backends do not depend on.
Result<DataType> dtype_of_onnx(int64_t t) {
    switch (t) {
        case 1:
            return DataType::kFloat32;
        case 2:
            return DataType::kUint8;
        case 3:
            return DataType::kInt8;
        case 5:
            return DataType::kInt16;
        case 6:
            return DataType::kInt32;
        case 7:
            return DataType::kInt64;
        case 9:
            return DataType::kBool;
        case 10:
            return DataType::kFloat16;
        case 11:
            return DataType::kFloat64;
        case 4:
            return unsupported("UINT16 tensors are not supported");
        case 8:
            return unsupported("STRING tensors are not supported");
        case 12:
            return unsupported("UINT32 tensors are not supported");
        case 13:
            return unsupported("UINT64 tensors are not supported");
        case 14:
            return unsupported("COMPLEX64 tensors are not supported");
        case 15:
            return unsupported("COMPLEX128 tensors are not supported");
        case 16:
            return unsupported("BFLOAT16 tensors are not supported");
        default:
            return unsupported("unknown ONNX dtype ", t);
    }
}

// out[i] = convert_value<To>(in[i]) for every pair of dispatchable types; float16 is staged
// through float32 by the caller.
void convert_tensor(const Tensor& in, Tensor& out) {
    dispatch_types(AllTypes{}, in.dtype(), [&]<typename From>() {
        dispatch_types(AllTypes{}, out.dtype(), [&]<typename To>() {
            const From* src = in.data<From>();
            To* dst = out.data<To>();
            for (int64_t i = 0; i < in.numel(); ++i) dst[i] = convert_value<To>(src[i]);
        });
    });
}

Status cast_into(runtime::KernelContext& ctx, const Tensor& x, DataType to) {
    const Tensor src = half_as_float(x);
    if (to == DataType::kFloat16) {
        Tensor f = Tensor::empty(DataType::kFloat32, x.dims());
        convert_tensor(src, f);
        float_into_half(f, ctx.allocate_output(0, DataType::kFloat16, x.dims()));
    } else {
        convert_tensor(src, ctx.allocate_output(0, to, x.dims()));
    }
    return OkStatus();
}

Status cast_supports(const ir::Node& node) {
    if (!node.has_attr("to") || node.attr("to")->kind != ir::Attribute::Kind::kInt)
        return invalid_model(node.desc(), ": missing int attribute 'to'");
    Result<DataType> to = dtype_of_onnx(node.attr_int("to", 0));
    if (!to.ok()) return unsupported("ref Cast: to=", node.attr_int("to", 0), ": ", to.status().message());
    return OkStatus();
}

Result<std::unique_ptr<runtime::Kernel>> create_cast(const ir::Node& node) {
    QAT_RETURN_IF_ERROR(cast_supports(node));
    const DataType to = *dtype_of_onnx(node.attr_int("to", 0));
    return make_fn_kernel([to](runtime::KernelContext& ctx) -> Status {
        QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "input"));
        return cast_into(ctx, *x, to);
    });
}

Status run_cast_like(runtime::KernelContext& ctx) {
    QAT_ASSIGN_OR_RETURN(const Tensor* x, required_input(ctx, 0, "input"));
    QAT_ASSIGN_OR_RETURN(const Tensor* like, required_input(ctx, 1, "target_type"));
    return cast_into(ctx, *x, like->dtype());
}

// The payload of a Constant node from whichever attribute carries it.
Result<Tensor> constant_payload(const ir::Node& node) {
    using Kind = ir::Attribute::Kind;
    const ir::Attribute* a = nullptr;
    std::string which;
    for (const char* name : {"value", "value_float", "value_floats", "value_int", "value_ints", "value_string",
                             "value_strings", "sparse_value"}) {
        if (const ir::Attribute* cand = node.attr(name)) {
            if (a) return invalid_model(node.desc(), ": has both ", which, " and ", name, " (exactly one is allowed)");
            a = cand;
            which = name;
        }
    }
    if (!a) return invalid_model(node.desc(), ": has no value attribute");
    if (which == "value" && a->kind == Kind::kTensor && a->t.defined()) return a->t;
    if (which == "value_float" && a->kind == Kind::kFloat) return Tensor::scalar<float>(a->f);
    if (which == "value_floats" && a->kind == Kind::kFloats)
        return Tensor::from_vector<float>({static_cast<int64_t>(a->floats.size())}, a->floats);
    if (which == "value_int" && a->kind == Kind::kInt) return Tensor::scalar<int64_t>(a->i);
    if (which == "value_ints" && a->kind == Kind::kInts)
        return Tensor::from_vector<int64_t>({static_cast<int64_t>(a->ints.size())}, a->ints);
    if (which == "value_string" || which == "value_strings" || which == "sparse_value")
        return unsupported("ref Constant: ", which, " is not supported");
    return invalid_model(node.desc(), ": attribute ", which, " has kind ", a->kind_name());
}

Result<std::unique_ptr<runtime::Kernel>> create_constant(const ir::Node& node) {
    QAT_ASSIGN_OR_RETURN(Tensor value, constant_payload(node));
    // The output shares the attribute's buffer: kernels never write their inputs.
    return make_fn_kernel([value](runtime::KernelContext& ctx) -> Status {
        ctx.set_output(0, value);
        return OkStatus();
    });
}

// ConstantOfShape: a tensor of the input's shape filled with the one-element 'value' attribute
// (float32 0 by default), in value's dtype.
Result<std::unique_ptr<runtime::Kernel>> create_constant_of_shape(const ir::Node& node) {
    Tensor value = Tensor::scalar<float>(0.0f);
    if (const ir::Attribute* a = node.attr("value")) {
        if (a->kind != ir::Attribute::Kind::kTensor || !a->t.defined() || a->t.numel() != 1)
            return invalid_model(node.desc(), ": attribute value must be a one-element tensor");
        value = a->t;
    }
    return make_fn_kernel([value](runtime::KernelContext& ctx) -> Status {
        const ir::Node& n = ctx.node();
        QAT_ASSIGN_OR_RETURN(const Tensor* s, required_input(ctx, 0, "input"));
        QAT_ASSIGN_OR_RETURN(std::vector<int64_t> dims, read_int_list(n, *s, "shape"));
        QAT_RETURN_IF_ERROR(checked_numel(n, dims, value.dtype()).status());
        Tensor& y = ctx.allocate_output(0, value.dtype(), dims);
        const size_t es = dtype_size(value.dtype());
        auto* dst = static_cast<uint8_t*>(y.raw_data());
        for (int64_t i = 0; i < y.numel(); ++i) std::memcpy(dst + i * es, value.raw_data(), es);
        return OkStatus();
    });
}

Status constant_supports(const ir::Node& node) { return constant_payload(node).status(); }

}  // namespace

void register_cast_constant_kernels(runtime::KernelRegistry& reg) {
    add_ref_kernel(reg, "Cast", create_cast, cast_supports);
    add_ref_kernel(reg, "CastLike", [](const ir::Node&) -> Result<std::unique_ptr<runtime::Kernel>> {
        return make_fn_kernel(run_cast_like);
    });
    add_ref_kernel(reg, "Constant", create_constant, constant_supports);
    add_ref_kernel(reg, "ConstantOfShape", create_constant_of_shape);
}

}  // namespace qat::ref
