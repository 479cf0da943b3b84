#include "engine/engine_file.h"

#include <cstring>
#include <fstream>
#include <initializer_list>
#include <nlohmann/json.hpp>

#include "core/file_util.h"
#include "engine/choice_names.h"
#include "onnx/onnx_export.h"
#include "onnx/onnx_import.h"

namespace qat::engine {
namespace {

constexpr uint32_t tag_of(const char (&s)[5]) {
    return static_cast<uint32_t>(static_cast<uint8_t>(s[0])) |
           (static_cast<uint32_t>(static_cast<uint8_t>(s[1])) << 8) |
           (static_cast<uint32_t>(static_cast<uint8_t>(s[2])) << 16) |
           (static_cast<uint32_t>(static_cast<uint8_t>(s[3])) << 24);
}
constexpr uint32_t kTagMeta = tag_of("META");
constexpr uint32_t kTagGraph = tag_of("GRPH");

void put_u32(std::string& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t get_u32(const std::string& s, size_t at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(s[at + i])) << (8 * i);
    return v;
}
uint64_t get_u64(const std::string& s, size_t at) {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(s[at + i])) << (8 * i);
    return v;
}

void put_section(std::string& payload, uint32_t tag, const std::string& bytes) {
    put_u32(payload, tag);
    put_u32(payload, 0);
    put_u64(payload, bytes.size());
    payload += bytes;
}

std::string tag_name(uint32_t tag) {
    std::string s;
    for (int i = 0; i < 4; ++i) {
        char c = static_cast<char>((tag >> (8 * i)) & 0xff);
        s.push_back(c >= 32 && c < 127 ? c : '?');
    }
    return s;
}

nlohmann::json options_to_json(const EngineOptions& o) {
    return {{"backends", o.backends},
            {"threads", o.threads},
            {"batch", o.batch},
            {"fuse_int8", o.fuse_int8},
            {"fp32_layout", fp32_layout_name(o.fp32_layout)},
            {"step_threads", step_threads_name(o.step_threads)},
            {"serial_steps", o.serial_steps},
            {"image_steps", image_steps_name(o.image_steps)},
            {"image_through", o.image_through}};
}

}  // namespace

uint64_t fnv1a64(const void* data, size_t size) {
    uint64_t h = 14695981039346656037ull;
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < size; ++i) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

Result<std::string> serialize_engine(const Engine& engine, const std::string& source,
                                     const std::vector<EngineSection>& extra_sections) {
    nlohmann::json meta = {{"qat_version", qat_version()},
                           {"format_version", kEngineFormatVersion},
                           {"options", options_to_json(engine.options())},
                           {"source", source}};
    onnx::ExportOptions eo;
    eo.check = false;  // com.qat ops are not ONNX's: the checker would refuse them
    QAT_ASSIGN_OR_RETURN(std::string graph_bytes, onnx::export_model_bytes(engine.graph(), eo));
    std::string payload;
    put_section(payload, kTagMeta, meta.dump());
    put_section(payload, kTagGraph, graph_bytes);
    for (const EngineSection& sec : extra_sections) {
        const uint32_t tag = static_cast<uint32_t>(static_cast<uint8_t>(sec.tag[0])) |
                             (static_cast<uint32_t>(static_cast<uint8_t>(sec.tag[1])) << 8) |
                             (static_cast<uint32_t>(static_cast<uint8_t>(sec.tag[2])) << 16) |
                             (static_cast<uint32_t>(static_cast<uint8_t>(sec.tag[3])) << 24);
        if (tag == kTagMeta || tag == kTagGraph)
            return invalid_argument("engine section tag ", tag_name(tag), " is reserved");
        put_section(payload, tag, sec.bytes);
    }

    std::string out(kEngineMagic, sizeof(kEngineMagic));
    put_u32(out, kEngineFormatVersion);
    put_u32(out, static_cast<uint32_t>(kEngineHeaderSize));
    char ver[16] = {};
    std::strncpy(ver, qat_version(), sizeof(ver) - 1);
    out.append(ver, sizeof(ver));
    put_u64(out, payload.size());
    put_u64(out, fnv1a64(payload.data(), payload.size()));
    out.append(16, '\0');
    out += payload;
    return out;
}

Status save_engine(const Engine& engine, const std::string& path, const std::string& source,
                   const std::vector<EngineSection>& extra_sections) {
    QAT_ASSIGN_OR_RETURN(std::string bytes, serialize_engine(engine, source, extra_sections));
    return write_file_atomic(path, bytes);
}

Result<EngineFileContents> parse_engine_file(const std::string& bytes, const std::string& what) {
    if (bytes.size() < sizeof(kEngineMagic) || std::memcmp(bytes.data(), kEngineMagic, sizeof(kEngineMagic)) != 0)
        return invalid_argument(what,
                                ": not a qat engine file (it does not start with the engine magic; build one with `qat "
                                "build MODEL.onnx -o FILE.engine`)");
    if (bytes.size() < kEngineHeaderSize)
        return invalid_argument(what, ": truncated engine file (", bytes.size(), " bytes, the header alone is ",
                                kEngineHeaderSize, ")");
    EngineFileContents c;
    c.format_version = get_u32(bytes, 8);
    const uint32_t header_size = get_u32(bytes, 12);
    c.qat_version = std::string(bytes.data() + 16, strnlen(bytes.data() + 16, 16));
    if (c.format_version != kEngineFormatVersion)
        return invalid_argument(what, ": engine file format version ", c.format_version, " (written by qat ",
                                c.qat_version, "); this qat ", qat_version(), " reads version ", kEngineFormatVersion,
                                ": rebuild it with `qat build`");
    if (c.qat_version != qat_version())
        return invalid_argument(what, ": engine file built by qat ", c.qat_version, ", this is qat ", qat_version(),
                                ": rebuild it with `qat build`");
    if (header_size != kEngineHeaderSize)
        return invalid_argument(what, ": corrupt engine header (header size ", header_size, ", expected ",
                                kEngineHeaderSize, ")");
    const uint64_t payload_size = get_u64(bytes, 32);
    const uint64_t checksum = get_u64(bytes, 40);
    const uint64_t have = bytes.size() - kEngineHeaderSize;
    if (payload_size > have)
        return invalid_argument(what, ": truncated engine file (the header announces ", payload_size,
                                " payload bytes, the file has ", have, ")");
    if (payload_size < have)
        return invalid_argument(what, ": corrupt engine file (", have - payload_size,
                                " unexpected bytes after the payload)");
    if (fnv1a64(bytes.data() + kEngineHeaderSize, payload_size) != checksum)
        return invalid_argument(what, ": corrupt engine file (payload checksum mismatch)");

    std::string meta_bytes, graph_bytes;
    bool have_meta = false, have_graph = false;
    std::vector<EngineSection> extra;
    size_t at = kEngineHeaderSize;
    while (at < bytes.size()) {
        if (bytes.size() - at < 16) return invalid_argument(what, ": corrupt engine file (section header cut short)");
        const uint32_t tag = get_u32(bytes, at);
        const uint64_t size = get_u64(bytes, at + 8);
        at += 16;
        if (size > bytes.size() - at)
            return invalid_argument(what, ": corrupt engine file (section ", tag_name(tag), " runs past the end)");
        if (tag == kTagMeta) {
            meta_bytes = bytes.substr(at, size);
            have_meta = true;
        } else if (tag == kTagGraph) {
            graph_bytes = bytes.substr(at, size);
            have_graph = true;
        } else {
            // Other sections (backend kernel state) are optional: kept for whoever knows them.
            EngineSection sec;
            for (int i = 0; i < 4; ++i) sec.tag[i] = static_cast<char>((tag >> (8 * i)) & 0xff);
            sec.bytes = bytes.substr(at, size);
            extra.push_back(std::move(sec));
        }
        at += size;
    }
    if (!have_meta || !have_graph)
        return invalid_argument(what, ": corrupt engine file (missing ", !have_meta ? "META" : "GRPH", " section)");

    nlohmann::json meta = nlohmann::json::parse(meta_bytes, nullptr, /*allow_exceptions=*/false);
    if (meta.is_discarded() || !meta.is_object() || !meta.contains("options") || !meta["options"].is_object())
        return invalid_argument(what, ": corrupt engine file (META is not the expected JSON)");
    try {
        const auto& o = meta["options"];
        c.options.backends = o.value("backends", std::vector<std::string>{});
        c.options.threads = o.value("threads", 0);
        c.options.batch = o.value("batch", int64_t{0});
        c.options.fuse_int8 = o.value("fuse_int8", true);
        // A choice the build made, by name: `older` where the file predates the choice (what such
        // files ran); a name outside `values` (those a file may hold) marks the file corrupt.
        auto choice = [&]<class E>(const char* key, const char* older, std::initializer_list<E> values,
                                   const char* (*name)(E), E* out) -> Status {
            const std::string s = o.value(key, std::string(older));
            auto v = parse_choice_name(s, values, name, "");
            if (!v.ok())
                return invalid_argument(what, ": corrupt engine file (META ", key, " ", v.status().message(), ")");
            *out = *v;
            return OkStatus();
        };
        QAT_RETURN_IF_ERROR(choice("fp32_layout", "backend", {Fp32Layout::kBackend, Fp32Layout::kBlocked},
                                   fp32_layout_name, &c.options.fp32_layout));
        QAT_RETURN_IF_ERROR(choice("step_threads", "all", {StepThreads::kAuto, StepThreads::kAll, StepThreads::kChosen},
                                   step_threads_name, &c.options.step_threads));
        c.options.serial_steps = o.value("serial_steps", std::vector<std::string>{});
        QAT_RETURN_IF_ERROR(choice("image_steps", "off", {ImageSteps::kAuto, ImageSteps::kOff, ImageSteps::kChosen},
                                   image_steps_name, &c.options.image_steps));
        c.options.image_through = o.value("image_through", std::string());
        c.source = meta.value("source", std::string());
    } catch (const std::exception& e) {
        return invalid_argument(what, ": corrupt engine file (META: ", e.what(), ")");
    }
    auto g = onnx::import_model_bytes(graph_bytes, what + " (engine graph)");
    if (!g.ok()) return std::move(g).take_status().with_context("while reading engine file " + what);
    c.graph = std::move(g).value();
    c.extra_sections = std::move(extra);
    return c;
}

Result<Engine> load_engine(const std::string& path, const EngineOptions& overrides) {
    QAT_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
    QAT_ASSIGN_OR_RETURN(EngineFileContents c, parse_engine_file(bytes, path));
    EngineOptions o = c.options;
    if (!overrides.backends.empty()) o.backends = overrides.backends;
    if (overrides.threads > 0) o.threads = overrides.threads;
    if (overrides.fp32_layout != Fp32Layout::kAuto) o.fp32_layout = overrides.fp32_layout;
    if (overrides.step_threads != StepThreads::kAuto) {
        o.step_threads = overrides.step_threads;
        o.serial_steps = overrides.serial_steps;
    }
    if (overrides.image_steps != ImageSteps::kAuto) {
        o.image_steps = overrides.image_steps;
        o.image_through = overrides.image_through;
    }
    if (overrides.batch > 0) {
        if (o.batch > 0 && o.batch != overrides.batch)
            return invalid_argument(path, ": engine was built for batch ", o.batch, ", asked for batch ",
                                    overrides.batch, " (rebuild it with `qat build --batch ", overrides.batch,
                                    "`, or build with a dynamic batch)");
        o.batch = overrides.batch;
    }
    auto e = engine_from_optimized_graph(*c.graph, o);
    if (!e.ok()) return std::move(e).take_status().with_context("while loading engine " + path);
    return e;
}

bool is_engine_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) return false;
    char buf[sizeof(kEngineMagic)] = {};
    f.read(buf, sizeof(buf));
    return f.gcount() == static_cast<std::streamsize>(sizeof(buf)) && std::memcmp(buf, kEngineMagic, sizeof(buf)) == 0;
}

Result<OpenedModel> open_model_or_engine(const std::string& path, const EngineOptions& options) {
    if (!file_exists(path)) return not_found("model file '", path, "' does not exist");
    if (is_directory(path)) return invalid_argument("'", path, "' is a directory, expected an .onnx or .engine file");
    if (is_engine_file(path)) {
        QAT_ASSIGN_OR_RETURN(Engine e, load_engine(path, options));
        return OpenedModel{std::move(e), ModelSource::kEngineFile, path};
    }
    QAT_ASSIGN_OR_RETURN(std::unique_ptr<ir::Graph> g, onnx::load_model(path));
    auto e = build_engine(*g, options);
    if (!e.ok()) return std::move(e).take_status().with_context("while building an engine from " + path);
    return OpenedModel{std::move(e).value(), ModelSource::kOnnx, path};
}

}  // namespace qat::engine
