// Training checkpoints: a JSON header (step, epoch, options, records) plus named tensors
// (parameters, buffers, optimizer state, quantizer ranges), in one file with a CRC-32 over all of
// it, written atomically (temporary file + rename) so that a crash or a signal never leaves a half
// file in place of the last good checkpoint.
//
//   train::Checkpoint c;
//   c.meta = {{"step", 1200}};
//   c.tensors.push_back({"param/conv1.weight", w});
//   QAT_RETURN_IF_ERROR(train::save_checkpoint("run.ckpt", c));
//   QAT_ASSIGN_OR_RETURN(train::Checkpoint back, train::load_checkpoint("run.ckpt"));
//
// File layout (little-endian): "QATCKPT1", u64 header length, header JSON, u64 tensor count, then
// per tensor: u32 name length, name, u8 dtype (core/dtype.h numbering), u8 rank, i64 dims[rank],
// u64 byte count, bytes; finally u32 CRC-32 (zlib) of everything before it. Loading checks every
// length against the file size and the CRC, so a truncated or damaged file is refused with a
// message naming it, never half-read.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace qat::train {

struct Checkpoint {
    nlohmann::json meta = nlohmann::json::object();
    std::vector<std::pair<std::string, Tensor>> tensors;

    // The tensor of that name, or nullptr.
    const Tensor* find(const std::string& name) const;
};

inline constexpr const char* kCheckpointMagic = "QATCKPT1";

std::string serialize_checkpoint(const Checkpoint& c);
Result<Checkpoint> parse_checkpoint(const std::string& bytes, const std::string& what);
// Atomic write.
Status save_checkpoint(const std::string& path, const Checkpoint& c);
Result<Checkpoint> load_checkpoint(const std::string& path);

}  // namespace qat::train
