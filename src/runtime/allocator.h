// A caching allocator for activations: blocks come back to the pool when the last tensor that
// holds them goes away, and are handed out again to the next allocation that fits.
//
// Why: on these machines first touch of fresh memory costs more than the kernels themselves,
// so reusing the same buffers run after run is worth more than any clever layout.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "core/tensor.h"

namespace qat::runtime {

class Allocator {
  public:
    // An uninitialized tensor whose storage may be a reused block.
    Tensor allocate(DataType dtype, std::vector<int64_t> dims);
    // As allocate(), with a storage block of at least `bytes` (for padded blocked layouts, whose
    // buffers are larger than numel * dtype_size).
    Tensor allocate_bytes(DataType dtype, std::vector<int64_t> dims, size_t bytes);
    // True when t's storage is a block of this pool.
    bool is_pooled(const Tensor& t) const;
    // Bytes held by the pool (in use or free).
    size_t pooled_bytes() const;
    size_t num_blocks() const;
    void clear();

  private:
    struct Block {
        std::shared_ptr<void> storage;
        size_t bytes;
    };
    mutable std::mutex mu_;
    std::vector<Block> blocks_;
};

}  // namespace qat::runtime
