#include "ir/attribute.h"

namespace qat::ir {

Attribute Attribute::from_float(float v) {
    Attribute a;
    a.kind = Kind::kFloat;
    a.f = v;
    return a;
}
Attribute Attribute::from_int(int64_t v) {
    Attribute a;
    a.kind = Kind::kInt;
    a.i = v;
    return a;
}
Attribute Attribute::from_string(std::string v) {
    Attribute a;
    a.kind = Kind::kString;
    a.s = std::move(v);
    return a;
}
Attribute Attribute::from_tensor(Tensor v) {
    Attribute a;
    a.kind = Kind::kTensor;
    a.t = std::move(v);
    return a;
}
Attribute Attribute::from_floats(std::vector<float> v) {
    Attribute a;
    a.kind = Kind::kFloats;
    a.floats = std::move(v);
    return a;
}
Attribute Attribute::from_ints(std::vector<int64_t> v) {
    Attribute a;
    a.kind = Kind::kInts;
    a.ints = std::move(v);
    return a;
}
Attribute Attribute::from_strings(std::vector<std::string> v) {
    Attribute a;
    a.kind = Kind::kStrings;
    a.strings = std::move(v);
    return a;
}
Attribute Attribute::opaque(std::string serialized_proto) {
    Attribute a;
    a.kind = Kind::kOpaque;
    a.s = std::move(serialized_proto);
    return a;
}

bool Attribute::operator==(const Attribute& o) const {
    if (kind != o.kind) return false;
    switch (kind) {
        case Kind::kUndefined: return true;
        case Kind::kFloat: return f == o.f || (f != f && o.f != o.f);
        case Kind::kInt: return i == o.i;
        case Kind::kString:
        case Kind::kOpaque: return s == o.s;
        case Kind::kTensor: return t.equals(o.t);
        case Kind::kFloats: return floats == o.floats;
        case Kind::kInts: return ints == o.ints;
        case Kind::kStrings: return strings == o.strings;
    }
    return false;
}

const char* Attribute::kind_name() const {
    switch (kind) {
        case Kind::kUndefined: return "undefined";
        case Kind::kFloat: return "float";
        case Kind::kInt: return "int";
        case Kind::kString: return "string";
        case Kind::kTensor: return "tensor";
        case Kind::kFloats: return "floats";
        case Kind::kInts: return "ints";
        case Kind::kStrings: return "strings";
        case Kind::kOpaque: return "opaque";
    }
    return "?";
}

}  // namespace qat::ir
