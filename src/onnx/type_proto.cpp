// TypeProto / TensorShapeProto <-> qat dtype + Shape.
#include "onnx/proto_internal.h"
#include "onnx/tensor_proto.h"

namespace qat::onnx::internal {

Shape shape_from_proto(const ::onnx::TensorShapeProto& s) {
    std::vector<Dim> dims;
    dims.reserve(s.dim_size());
    for (const auto& d : s.dim()) {
        if (d.has_dim_value() && d.dim_value() >= 0) {
            dims.emplace_back(d.dim_value());
        } else if (d.has_dim_param() && !d.dim_param().empty()) {
            dims.push_back(Dim::symbolic(d.dim_param()));
        } else {
            // Neither set (or a negative value some exporters write): an unknown dim.
            dims.emplace_back();
        }
    }
    return Shape(std::move(dims));
}

Status type_from_proto(const ::onnx::TypeProto& t, const std::string& what, DataType* dtype, Shape* shape) {
    *dtype = DataType::kUndefined;
    *shape = Shape::unknown_rank();
    switch (t.value_case()) {
        case ::onnx::TypeProto::kTensorType:
            break;
        case ::onnx::TypeProto::VALUE_NOT_SET:
            return OkStatus();  // no type information at all
        case ::onnx::TypeProto::kSequenceType:
            return unsupported(what, " has a sequence type; qat handles tensor values only");
        case ::onnx::TypeProto::kMapType:
            return unsupported(what, " has a map type; qat handles tensor values only");
        case ::onnx::TypeProto::kOptionalType:
            return unsupported(what, " has an optional type; qat handles tensor values only");
        case ::onnx::TypeProto::kSparseTensorType:
            return unsupported(what, " is a sparse tensor; qat handles dense tensors only");
        default:
            return unsupported(what, " has a type qat does not handle (", static_cast<int>(t.value_case()), ")");
    }
    const auto& tt = t.tensor_type();
    if (tt.has_elem_type() && tt.elem_type() != ::onnx::TensorProto::UNDEFINED) {
        QAT_ASSIGN_OR_RETURN(*dtype, from_onnx_dtype(tt.elem_type(), what));
    }
    if (tt.has_shape()) *shape = shape_from_proto(tt.shape());
    return OkStatus();
}

void type_to_proto(DataType dtype, const Shape& shape, ::onnx::TypeProto* t) {
    auto* tt = t->mutable_tensor_type();
    if (dtype != DataType::kUndefined) tt->set_elem_type(to_onnx_dtype(dtype));
    if (!shape.rank_known()) return;  // no shape field: rank unknown
    auto* s = tt->mutable_shape();
    for (const Dim& d : shape.dims()) {
        auto* pd = s->add_dim();
        if (d.is_static()) {
            pd->set_dim_value(d.value);
        } else if (!d.symbol.empty()) {
            pd->set_dim_param(d.symbol);
        }
    }
}

}  // namespace qat::onnx::internal
