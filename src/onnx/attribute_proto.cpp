// AttributeProto <-> ir::Attribute.
//
// The kinds passes and kernels read (float, int, string, tensor, floats, ints, strings) become
// native attributes; everything else (subgraphs, sparse tensors, type protos, lists of tensors,
// tensors of dtypes qat lacks, function-body reference attributes) is kept as the serialized
// AttributeProto so that import -> export loses nothing for ops we never execute.
#include "onnx/proto_internal.h"

namespace qat::onnx::internal {
namespace {

using AP = ::onnx::AttributeProto;

// IR versions before 0.0.2 allowed attributes without a type; the set field says which it is.
AP::AttributeType deduce_type(const AP& p) {
    if (p.type() != AP::UNDEFINED) return p.type();
    if (p.has_f()) return AP::FLOAT;
    if (p.has_i()) return AP::INT;
    if (p.has_s()) return AP::STRING;
    if (p.has_t()) return AP::TENSOR;
    if (p.has_g()) return AP::GRAPH;
    if (p.has_sparse_tensor()) return AP::SPARSE_TENSOR;
    if (p.has_tp()) return AP::TYPE_PROTO;
    if (p.floats_size()) return AP::FLOATS;
    if (p.ints_size()) return AP::INTS;
    if (p.strings_size()) return AP::STRINGS;
    if (p.tensors_size()) return AP::TENSORS;
    if (p.graphs_size()) return AP::GRAPHS;
    return AP::UNDEFINED;
}

}  // namespace

Result<ir::Attribute> attribute_from_proto(const AP& p, const std::string& what) {
    // Reference attributes (inside function bodies) and documented attributes carry more than
    // the native form holds: keep them whole.
    if (!p.ref_attr_name().empty() || !p.doc_string().empty()) return ir::Attribute::opaque(p.SerializeAsString());
    switch (deduce_type(p)) {
        case AP::FLOAT:
            return ir::Attribute::from_float(p.f());
        case AP::INT:
            return ir::Attribute::from_int(p.i());
        case AP::STRING:
            return ir::Attribute::from_string(p.s());
        case AP::FLOATS:
            return ir::Attribute::from_floats({p.floats().begin(), p.floats().end()});
        case AP::INTS:
            return ir::Attribute::from_ints({p.ints().begin(), p.ints().end()});
        case AP::STRINGS:
            return ir::Attribute::from_strings({p.strings().begin(), p.strings().end()});
        case AP::TENSOR: {
            auto t = tensor_from_proto(p.t(), what);
            if (t.ok()) return ir::Attribute::from_tensor(std::move(t).value());
            // A tensor qat cannot hold (e.g. STRING) is fine as long as nobody executes it.
            if (t.status().code() == StatusCode::kUnsupported) return ir::Attribute::opaque(p.SerializeAsString());
            return std::move(t).take_status();
        }
        default:
            return ir::Attribute::opaque(p.SerializeAsString());
    }
}

Status attribute_to_proto(const std::string& name, const ir::Attribute& a, AP* p) {
    using K = ir::Attribute::Kind;
    if (a.kind == K::kOpaque) {
        if (!p->ParseFromString(a.s))
            return internal_error("attribute '", name, "' holds a corrupt opaque AttributeProto");
        p->set_name(name);
        return OkStatus();
    }
    p->set_name(name);
    switch (a.kind) {
        case K::kFloat:
            p->set_type(AP::FLOAT);
            p->set_f(a.f);
            break;
        case K::kInt:
            p->set_type(AP::INT);
            p->set_i(a.i);
            break;
        case K::kString:
            p->set_type(AP::STRING);
            p->set_s(a.s);
            break;
        case K::kTensor:
            if (!a.t.defined()) return invalid_argument("attribute '", name, "' holds an empty tensor");
            p->set_type(AP::TENSOR);
            tensor_to_proto(a.t, p->mutable_t());
            break;
        case K::kFloats:
            p->set_type(AP::FLOATS);
            for (float v : a.floats) p->add_floats(v);
            break;
        case K::kInts:
            p->set_type(AP::INTS);
            for (int64_t v : a.ints) p->add_ints(v);
            break;
        case K::kStrings:
            p->set_type(AP::STRINGS);
            for (const auto& v : a.strings) p->add_strings(v);
            break;
        case K::kUndefined:
            return invalid_argument("attribute '", name, "' has no value");
        case K::kOpaque:
            break;  // handled above
    }
    return OkStatus();
}

}  // namespace qat::onnx::internal
