// The payload of a Constant node, from whichever attribute form it uses.
#include <cstring>

#include "onnx/proto_internal.h"

namespace qat::onnx::internal {
namespace {

// SparseTensorProto -> dense tensor. Indices are either [NNZ] linear positions or [NNZ, rank]
// coordinates (ONNX's two layouts).
Result<Tensor> dense_from_sparse(const ::onnx::SparseTensorProto& sp, const std::string& what) {
    QAT_ASSIGN_OR_RETURN(Tensor values, tensor_from_proto(sp.values(), what + " (values)"));
    QAT_ASSIGN_OR_RETURN(Tensor indices, tensor_from_proto(sp.indices(), what + " (indices)"));
    std::vector<int64_t> dims(sp.dims().begin(), sp.dims().end());
    for (int64_t d : dims)
        if (d < 0) return invalid_model(what, " has a negative dimension in ", dims_to_string(dims));
    if (values.rank() != 1) return invalid_model(what, ": sparse values must be 1-D, got ", values.desc());
    if (indices.dtype() != DataType::kInt64) return invalid_model(what, ": sparse indices must be int64");
    const int64_t nnz = values.numel();
    const int64_t numel = numel_of(dims);
    const int64_t rank = static_cast<int64_t>(dims.size());
    const bool linear = indices.rank() == 1;
    if (!(linear && indices.dim(0) == nnz) && !(indices.rank() == 2 && indices.dim(0) == nnz && indices.dim(1) == rank))
        return invalid_model(what, ": sparse indices ", indices.desc(), " do not match ", nnz, " values of rank ",
                             rank);
    Tensor dense = Tensor::zeros(values.dtype(), dims);
    const size_t es = dtype_size(values.dtype());
    const int64_t* idx = indices.data<int64_t>();
    for (int64_t k = 0; k < nnz; ++k) {
        int64_t pos = 0;
        if (linear) {
            pos = idx[k];
        } else {
            for (int64_t r = 0; r < rank; ++r) {
                int64_t c = idx[k * rank + r];
                if (c < 0 || c >= dims[r]) return invalid_model(what, ": sparse index out of range");
                pos = pos * dims[r] + c;
            }
        }
        if (pos < 0 || pos >= numel) return invalid_model(what, ": sparse index ", pos, " out of range");
        std::memcpy(static_cast<char*>(dense.raw_data()) + pos * es,
                    static_cast<const char*>(values.raw_data()) + k * es, es);
    }
    return dense;
}

}  // namespace

Result<Tensor> constant_node_payload(const ir::Node& n) {
    const std::string what = "attribute of " + n.desc();
    for (const auto& [name, a] : n.attrs()) {
        using K = ir::Attribute::Kind;
        if (name == "value" && a.kind == K::kTensor) return a.t;
        if (name == "value_float" && a.kind == K::kFloat) return Tensor::scalar<float>(a.f);
        if (name == "value_int" && a.kind == K::kInt) return Tensor::scalar<int64_t>(a.i);
        if (name == "value_floats" && a.kind == K::kFloats)
            return Tensor::from_vector<float>({static_cast<int64_t>(a.floats.size())}, a.floats);
        if (name == "value_ints" && a.kind == K::kInts)
            return Tensor::from_vector<int64_t>({static_cast<int64_t>(a.ints.size())}, a.ints);
        if (name == "sparse_value" && a.kind == K::kOpaque) {
            ::onnx::AttributeProto p;
            if (!p.ParseFromString(a.s) || !p.has_sparse_tensor())
                return invalid_model(n.desc(), ": corrupt sparse_value");
            auto t = dense_from_sparse(p.sparse_tensor(), "sparse_value of " + n.desc());
            if (!t.ok() && t.status().code() == StatusCode::kUnsupported) return Tensor();
            return t;
        }
    }
    // value_string(s), or a tensor of a dtype qat lacks (kept opaque): no payload qat can hold.
    return Tensor();
}

}  // namespace qat::onnx::internal
