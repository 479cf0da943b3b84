// Node attributes: the ONNX attribute kinds we model, plus an opaque form for the rest.
//
// Graph-valued attributes (If/Loop bodies), sparse tensors and type protos are kept as the
// serialized onnx::AttributeProto bytes so that import -> export loses nothing even for ops we
// never execute.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace qat::ir {

struct Attribute {
    enum class Kind { kUndefined, kFloat, kInt, kString, kTensor, kFloats, kInts, kStrings, kOpaque };

    Kind kind = Kind::kUndefined;
    float f = 0.0f;
    int64_t i = 0;
    std::string s;  // kString; for kOpaque the serialized onnx::AttributeProto
    Tensor t;
    std::vector<float> floats;
    std::vector<int64_t> ints;
    std::vector<std::string> strings;

    static Attribute from_float(float v);
    static Attribute from_int(int64_t v);
    static Attribute from_string(std::string v);
    static Attribute from_tensor(Tensor v);
    static Attribute from_floats(std::vector<float> v);
    static Attribute from_ints(std::vector<int64_t> v);
    static Attribute from_strings(std::vector<std::string> v);
    static Attribute opaque(std::string serialized_proto);

    bool operator==(const Attribute& o) const;
    const char* kind_name() const;
};

}  // namespace qat::ir
