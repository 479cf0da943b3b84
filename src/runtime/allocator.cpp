#include "runtime/allocator.h"

#include <algorithm>

namespace qat::runtime {

Tensor Allocator::allocate(DataType dtype, std::vector<int64_t> dims) {
    size_t bytes = static_cast<size_t>(numel_of(dims)) * dtype_size(dtype);
    return allocate_bytes(dtype, std::move(dims), bytes);
}

Tensor Allocator::allocate_bytes(DataType dtype, std::vector<int64_t> dims, size_t bytes) {
    bytes = std::max(bytes, static_cast<size_t>(numel_of(dims)) * dtype_size(dtype));
    std::lock_guard<std::mutex> lock(mu_);
    // Best fit among free blocks (use_count 1: only the pool holds it), wasting at most 2x.
    Block* best = nullptr;
    for (auto& b : blocks_) {
        if (b.storage.use_count() != 1 || b.bytes < bytes || b.bytes > 2 * bytes + 4096) continue;
        if (!best || b.bytes < best->bytes) best = &b;
    }
    if (!best) {
        size_t cap = (bytes + 63) / 64 * 64;
        blocks_.push_back({aligned_alloc_bytes(cap), cap});
        best = &blocks_.back();
    }
    return Tensor::from_storage(dtype, std::move(dims), best->storage);
}

bool Allocator::is_pooled(const Tensor& t) const {
    if (!t.storage()) return false;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& b : blocks_)
        if (b.storage == t.storage()) return true;
    return false;
}

size_t Allocator::pooled_bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const auto& b : blocks_) n += b.bytes;
    return n;
}

size_t Allocator::num_blocks() const {
    std::lock_guard<std::mutex> lock(mu_);
    return blocks_.size();
}

void Allocator::clear() {
    std::lock_guard<std::mutex> lock(mu_);
    blocks_.clear();
}

}  // namespace qat::runtime
