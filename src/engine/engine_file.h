// Engine files (`qat build model.onnx -o model.engine`): the optimized graph (com.qat INT8 ops,
// int8 weights already quantized and BN-folded), the build options and room for backend kernel
// state, behind a versioned header and a checksum.
//
// Layout (little-endian):
//   offset  0  magic "QATENGIN" (8 bytes)
//           8  u32 format version (kEngineFormatVersion)
//          12  u32 header size (64)
//          16  char[16] qat version that wrote it ("0.1.0", zero padded)
//          32  u64 payload size
//          40  u64 FNV-1a 64 checksum of the payload
//          48  16 reserved bytes (zero)
//          64  payload: sections, each  u32 tag | u32 flags (0) | u64 size | size bytes
//                'META'  JSON: {"qat_version", "format_version", "options": {backends, threads,
//                        batch, fuse_int8, fp32_layout ("backend" when absent: files from before
//                        the layout choice), step_threads ("auto", "all" or "chosen"; "all"
//                        when absent) and serial_steps (node names; thread_choice.h),
//                        image_steps ("auto", "off" or "chosen"; "off" when absent) and
//                        image_through (a node name; image_choice.h)}, "source"}
//                'GRPH'  the optimized graph as an ONNX ModelProto (onnx/onnx_export.h; the
//                        ONNX checker is not run: com.qat ops are ours)
//                'KST0'  reserved for backend kernel state (prepacked weights, chosen
//                        algorithms): not written by format version 1. Readers skip sections
//                        whose tag they do not know, so a backend may add its own later.
// Refused with a clear message: a file that is not an engine (magic), a truncated or corrupt
// one (sizes, checksum), another format version or another qat version ("rebuild it with qat
// build"). Writes are atomic (core/file_util.h).
//
//   QAT_RETURN_IF_ERROR(engine::save_engine(e, "model.engine", "model.onnx"));
//   QAT_ASSIGN_OR_RETURN(engine::Engine e2, engine::load_engine("model.engine"));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/engine.h"

namespace qat::engine {

inline constexpr char kEngineMagic[8] = {'Q', 'A', 'T', 'E', 'N', 'G', 'I', 'N'};
inline constexpr uint32_t kEngineFormatVersion = 1;
inline constexpr size_t kEngineHeaderSize = 64;

// FNV-1a 64 of bytes (the payload checksum).
uint64_t fnv1a64(const void* data, size_t size);

// A payload section other than META and GRPH: the place for backend kernel state (a backend
// picks its own tag, e.g. "ODN0"; "KST0" is reserved). Readers keep the ones they do not know in
// EngineFileContents::extra_sections.
struct EngineSection {
    char tag[4] = {};
    std::string bytes;
};

// The engine file bytes. `source` (e.g. the ONNX path) is recorded in META.
Result<std::string> serialize_engine(const Engine& engine, const std::string& source = "",
                                     const std::vector<EngineSection>& extra_sections = {});
Status save_engine(const Engine& engine, const std::string& path, const std::string& source = "",
                   const std::vector<EngineSection>& extra_sections = {});

// What an engine file holds, before a plan is compiled.
struct EngineFileContents {
    std::string qat_version;
    uint32_t format_version = 0;
    EngineOptions options;  // as stored
    std::string source;
    std::unique_ptr<ir::Graph> graph;
    std::vector<EngineSection> extra_sections;
};

// Parses and checks the bytes (`what` names them in messages, e.g. the path).
Result<EngineFileContents> parse_engine_file(const std::string& bytes, const std::string& what);

// Loads an engine: the stored options, overridden by `overrides` where those are set
// (backends non-empty, threads > 0, batch > 0; a batch other than a fixed stored batch is an
// error).
Result<Engine> load_engine(const std::string& path, const EngineOptions& overrides = {});

// True when the file starts with the engine magic (cheap: reads 8 bytes).
bool is_engine_file(const std::string& path);

}  // namespace qat::engine
