#include "backends/ref/broadcast.h"

#include <algorithm>
#include <cstring>

namespace qat::ref {

bool broadcast_shapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b, std::vector<int64_t>* out) {
    return broadcast_shapes(std::vector<std::vector<int64_t>>{a, b}, out);
}

bool broadcast_shapes(const std::vector<std::vector<int64_t>>& shapes, std::vector<int64_t>* out) {
    size_t rank = 0;
    for (const auto& s : shapes) rank = std::max(rank, s.size());
    std::vector<int64_t> result(rank, 1);
    for (const auto& s : shapes) {
        const size_t lead = rank - s.size();  // s is aligned at the last dim
        for (size_t i = 0; i < s.size(); ++i) {
            int64_t& r = result[lead + i];
            if (s[i] == r || s[i] == 1) continue;
            if (r != 1) return false;
            r = s[i];
        }
    }
    *out = std::move(result);
    return true;
}

bool broadcastable_to(const std::vector<int64_t>& from, const std::vector<int64_t>& to) {
    if (from.size() > to.size()) return false;
    const size_t lead = to.size() - from.size();
    for (size_t i = 0; i < from.size(); ++i)
        if (from[i] != 1 && from[i] != to[lead + i]) return false;
    return true;
}

std::vector<int64_t> contiguous_strides(const std::vector<int64_t>& dims) {
    std::vector<int64_t> strides(dims.size(), 1);
    for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
    return strides;
}

std::vector<int64_t> broadcast_strides(const std::vector<int64_t>& in, const std::vector<int64_t>& out) {
    std::vector<int64_t> own = contiguous_strides(in);
    std::vector<int64_t> strides(out.size(), 0);
    const size_t lead = out.size() - in.size();
    for (size_t i = 0; i < in.size(); ++i)
        if (in[i] == out[lead + i] && in[i] != 1) strides[lead + i] = own[i];
    return strides;
}

void copy_strided(const void* src, int64_t src_offset, const std::vector<int64_t>& src_strides,
                  const std::vector<int64_t>& out_dims, void* dst, size_t elem_size) {
    const auto* s = static_cast<const uint8_t*>(src);
    auto* d = static_cast<uint8_t*>(dst);
    const size_t rank = out_dims.size();
    int64_t total = 1;
    for (int64_t v : out_dims) total *= v;
    if (total == 0) return;
    std::vector<int64_t> counter(rank, 0);
    int64_t offset = src_offset;
    for (int64_t i = 0; i < total; ++i) {
        std::memcpy(d + i * elem_size, s + offset * static_cast<int64_t>(elem_size), elem_size);
        for (size_t k = rank; k-- > 0;) {
            offset += src_strides[k];
            if (++counter[k] < out_dims[k]) break;
            offset -= src_strides[k] * out_dims[k];
            counter[k] = 0;
        }
    }
}

}  // namespace qat::ref
