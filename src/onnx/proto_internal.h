// INTERNAL to src/onnx/: conversions between ONNX protobuf messages and qat types.
//
// This is the only header that includes the protobuf classes; the public headers of src/onnx/
// (onnx_import.h, onnx_export.h, tensor_proto.h, shape_inference.h, opset.h) expose qat types
// only, so no other module depends on protobuf's headers. Tests of this folder may include it.
#pragma once

#include <onnx/onnx_pb.h>

#include <memory>
#include <string>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/attribute.h"
#include "ir/graph.h"
#include "onnx/onnx_import.h"

namespace qat::onnx::internal {

// ---- tensors (tensor_proto.cpp) ----
// Raw or typed storage; `what` names the tensor in errors ("initializer 'w'").
Result<Tensor> tensor_from_proto(const ::onnx::TensorProto& p, const std::string& what);
// Always raw_data (compact, and the form ONNX Runtime reads fastest).
void tensor_to_proto(const Tensor& t, ::onnx::TensorProto* p);

// ---- attributes (attribute_proto.cpp) ----
// Native kinds for float/int/string/tensor/floats/ints/strings; everything else (graphs, sparse
// tensors, type protos, tensors of dtypes we lack, reference attributes) as Attribute::opaque.
Result<ir::Attribute> attribute_from_proto(const ::onnx::AttributeProto& p, const std::string& what);
Status attribute_to_proto(const std::string& name, const ir::Attribute& a, ::onnx::AttributeProto* p);

// ---- types (type_proto.cpp) ----
// dtype + shape of a tensor-typed ValueInfo. Non-tensor types (sequence, map, optional) and
// element types we lack are errors that name `what`.
Status type_from_proto(const ::onnx::TypeProto& t, const std::string& what, DataType* dtype, Shape* shape);
void type_to_proto(DataType dtype, const Shape& shape, ::onnx::TypeProto* t);
Shape shape_from_proto(const ::onnx::TensorShapeProto& s);

// ---- graph <-> model (onnx_import.cpp / onnx_export.cpp) ----
Result<std::unique_ptr<ir::Graph>> graph_from_model_proto(const ::onnx::ModelProto& m, const std::string& what,
                                                          const ImportOptions& options);
// `with_value_info`: also write value_info for intermediate values of known dtype.
Status graph_to_model_proto(const ir::Graph& g, bool with_value_info, ::onnx::ModelProto* m);

// ONNX's checker and strict shape inference on a copy of `m`; exceptions become a Status.
Status run_onnx_checks(const ::onnx::ModelProto& m);

// The tensor a Constant node's attributes define (value, value_float(s), value_int(s),
// sparse_value); an undefined Tensor for the forms qat cannot hold (value_string(s), tensors of
// dtypes qat lacks). Errors name the node.
Result<Tensor> constant_node_payload(const ir::Node& n);

// Name prefix of the placeholder Values that stand for omitted optional node outputs ("" in
// ONNX): every node output must be a Value in the IR. "::" never appears in names exporters write.
inline constexpr const char kOmittedOutputPrefix[] = "qat::omitted_output";

}  // namespace qat::onnx::internal
