// Numpy-style broadcasting, written once for every reference kernel (Add..Pow, PRelu, Where,
// Expand, Max/Min) and for other backends' bias/slope handling (Gemm's C, PRelu's slope).
//
// Multidirectional (ONNX "numpy-style") broadcasting aligns shapes at their last dim; two dims
// are compatible when equal or when one of them is 1 (a 0-size dim therefore only meets 0 or 1).
// Unidirectional broadcasting (PRelu slope, Gemm C) only lets the second shape stretch.
//
//   std::vector<int64_t> out;
//   if (!ref::broadcast_shapes(a.dims(), b.dims(), &out))
//       return runtime::kernel_error(node, "cannot broadcast ", dims_to_string(a.dims()), " with ", ...);
//   ref::for_each_broadcast<2>(out, {a.dims(), b.dims()},
//       [&](int64_t i, const std::array<int64_t, 2>& off) { y[i] = pa[off[0]] + pb[off[1]]; });
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace qat::ref {

// Broadcast shape of a and b; false (out untouched) when some aligned dims differ and neither is 1.
bool broadcast_shapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b, std::vector<int64_t>* out);

// Broadcast shape of several shapes (Max, Min, Where); false when they are incompatible.
bool broadcast_shapes(const std::vector<std::vector<int64_t>>& shapes, std::vector<int64_t>* out);

// True when `from` stretches to exactly `to` (unidirectional: rank(from) <= rank(to), and each
// aligned dim of `from` equals the one of `to` or is 1).
bool broadcastable_to(const std::vector<int64_t>& from, const std::vector<int64_t>& to);

// Element strides to read a row-major tensor of dims `in` as if it had dims `out` (which it must
// broadcast to): 0 along dims that are stretched or missing. Size rank(out).
std::vector<int64_t> broadcast_strides(const std::vector<int64_t>& in, const std::vector<int64_t>& out);

// Row-major element strides of a contiguous tensor (the last one is 1).
std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& dims);

// Visits every element of a tensor of dims `out_dims` in row-major order and calls
// f(out_index, offsets), where offsets[k] is the flat index of the element of input k (of dims
// in_dims[k], which must broadcast to out_dims) that lands there. Nothing is visited when
// out_dims has a 0.
template <size_t N, typename F>
void for_each_broadcast(const std::vector<int64_t>& out_dims, const std::array<std::vector<int64_t>, N>& in_dims,
                        F&& f) {
    const size_t rank = out_dims.size();
    int64_t total = 1;
    for (int64_t d : out_dims) total *= d;
    if (total == 0) return;
    std::array<std::vector<int64_t>, N> strides;
    for (size_t k = 0; k < N; ++k) strides[k] = broadcast_strides(in_dims[k], out_dims);
    std::vector<int64_t> counter(rank, 0);
    std::array<int64_t, N> offsets{};
    for (int64_t i = 0; i < total; ++i) {
        f(i, offsets);
        // Odometer step: bump the last dim, carry into earlier ones, rewinding the offsets.
        for (size_t d = rank; d-- > 0;) {
            for (size_t k = 0; k < N; ++k) offsets[k] += strides[k][d];
            if (++counter[d] < out_dims[d]) break;
            for (size_t k = 0; k < N; ++k) offsets[k] -= strides[k][d] * out_dims[d];
            counter[d] = 0;
        }
    }
}

// Copies `out_dims` elements of `elem_size` bytes from `src` into the contiguous `dst`, reading
// element (i0, i1, ...) at src + (src_offset + sum_k i_k * src_strides[k]) * elem_size. Strides
// may be 0 (broadcast) or negative (Slice with negative steps); Transpose permutes them.
void copy_strided(const void* src, int64_t src_offset, const std::vector<int64_t>& src_strides,
                  const std::vector<int64_t>& out_dims, void* dst, size_t elem_size);

}  // namespace qat::ref
