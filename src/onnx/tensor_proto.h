// ONNX TensorProto <-> qat Tensor, and the DataType mapping both ways.
//
// Reads raw_data and the typed fields (float_data, int32_data, int64_data, double_data) for every
// DataType qat has (float32/16/64, int8/16/32/64, uint8, bool); other ONNX element types
// (STRING, BFLOAT16, UINT16/32/64, COMPLEX64/128) are refused with a message naming the dtype and
// the tensor. Writing always uses raw_data.
//
//   QAT_ASSIGN_OR_RETURN(Tensor x, onnx::load_tensor_pb("test_data_set_0/input_0.pb"));
//   QAT_RETURN_IF_ERROR(onnx::save_tensor_pb("out/y.pb", y, "y"));
//
// Only qat types appear here; the protobuf side is in proto_internal.h (src/onnx/ only).
#pragma once

#include <string>

#include "core/status.h"
#include "core/tensor.h"

namespace qat::onnx {

// ONNX TensorProto.DataType number of a DataType (0, UNDEFINED, for kUndefined).
int to_onnx_dtype(DataType t);
// DataType of an ONNX element type; error "unsupported tensor dtype STRING in <what>" for the
// types qat lacks, "invalid tensor dtype 99 in <what>" for numbers ONNX does not define.
Result<DataType> from_onnx_dtype(int elem_type, const std::string& what);
// "FLOAT", "BFLOAT16", ... ("INVALID(99)" for numbers ONNX does not define).
std::string onnx_dtype_name(int elem_type);

// A serialized TensorProto. `name` (optional) receives the tensor's name field.
Result<Tensor> parse_tensor_proto(const std::string& bytes, const std::string& what, std::string* name = nullptr);
std::string serialize_tensor_proto(const Tensor& t, const std::string& name = "");

// The ONNX test data's input_*.pb / output_*.pb files (one TensorProto each).
Result<Tensor> load_tensor_pb(const std::string& path, std::string* name = nullptr);
// Atomic write.
Status save_tensor_pb(const std::string& path, const Tensor& t, const std::string& name = "");

}  // namespace qat::onnx
