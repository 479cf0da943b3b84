#include "train/checkpoint.h"

#include <zlib.h>

#include <cstring>

#include "core/file_util.h"

namespace qat::train {
namespace {

template <typename T>
void put(std::string& out, T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.append(b, sizeof(T));
}

uint32_t crc_of(const char* p, size_t n) {
    uLong crc = crc32(0L, Z_NULL, 0);
    // zlib's length is a uInt: feed large buffers in pieces.
    while (n > 0) {
        const uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
        crc = crc32(crc, reinterpret_cast<const Bytef*>(p), chunk);
        p += chunk;
        n -= chunk;
    }
    return static_cast<uint32_t>(crc);
}

class Reader {
  public:
    Reader(const std::string& b, size_t end, std::string what) : b_(b), end_(end), what_(std::move(what)) {}
    template <typename T>
    Status get(T* v, const char* field) {
        if (end_ - pos_ < sizeof(T)) return truncated(field);
        std::memcpy(v, b_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return OkStatus();
    }
    Status bytes(size_t n, std::string* out, const char* field) {
        if (end_ - pos_ < n) return truncated(field);
        out->assign(b_.data() + pos_, n);
        pos_ += n;
        return OkStatus();
    }
    Status copy(size_t n, void* dst, const char* field) {
        if (end_ - pos_ < n) return truncated(field);
        if (n) std::memcpy(dst, b_.data() + pos_, n);
        pos_ += n;
        return OkStatus();
    }
    size_t pos() const { return pos_; }

  private:
    Status truncated(const char* field) const {
        return invalid_argument("checkpoint ", what_, " is corrupt: it ends inside the ", field, " at byte ", pos_);
    }
    const std::string& b_;
    size_t end_;
    size_t pos_ = 0;
    std::string what_;
};

}  // namespace

const Tensor* Checkpoint::find(const std::string& name) const {
    for (const auto& [n, t] : tensors)
        if (n == name) return &t;
    return nullptr;
}

std::string serialize_checkpoint(const Checkpoint& c) {
    std::string out(kCheckpointMagic);
    const std::string header = c.meta.dump();
    put<uint64_t>(out, header.size());
    out += header;
    put<uint64_t>(out, c.tensors.size());
    for (const auto& [name, t] : c.tensors) {
        put<uint32_t>(out, static_cast<uint32_t>(name.size()));
        out += name;
        put<uint8_t>(out, static_cast<uint8_t>(t.dtype()));
        put<uint8_t>(out, static_cast<uint8_t>(t.rank()));
        for (int64_t d : t.dims()) put<int64_t>(out, d);
        put<uint64_t>(out, t.nbytes());
        if (t.nbytes()) out.append(static_cast<const char*>(t.raw_data()), t.nbytes());
    }
    put<uint32_t>(out, crc_of(out.data(), out.size()));
    return out;
}

Result<Checkpoint> parse_checkpoint(const std::string& bytes, const std::string& what) {
    const size_t magic = std::strlen(kCheckpointMagic);
    if (bytes.size() < magic || bytes.compare(0, magic, kCheckpointMagic) != 0)
        return invalid_argument("checkpoint ", what, " is not a qat checkpoint (no ", kCheckpointMagic, " header)");
    if (bytes.size() < magic + 4) return invalid_argument("checkpoint ", what, " is corrupt: too short");
    const size_t body = bytes.size() - 4;
    uint32_t stored;
    std::memcpy(&stored, bytes.data() + body, 4);
    if (crc_of(bytes.data(), body) != stored)
        return invalid_argument("checkpoint ", what, " is corrupt: checksum mismatch (truncated or damaged file)");
    Reader r(bytes, body, what);
    std::string skip;
    QAT_RETURN_IF_ERROR(r.bytes(magic, &skip, "magic"));
    uint64_t hlen = 0;
    QAT_RETURN_IF_ERROR(r.get(&hlen, "header length"));
    std::string header;
    QAT_RETURN_IF_ERROR(r.bytes(static_cast<size_t>(hlen), &header, "header"));
    Checkpoint c;
    try {
        c.meta = nlohmann::json::parse(header);
    } catch (const std::exception& e) {
        return invalid_argument("checkpoint ", what, " is corrupt: its header is not JSON (", e.what(), ")");
    }
    uint64_t count = 0;
    QAT_RETURN_IF_ERROR(r.get(&count, "tensor count"));
    for (uint64_t i = 0; i < count; ++i) {
        uint32_t nlen = 0;
        QAT_RETURN_IF_ERROR(r.get(&nlen, "tensor name length"));
        std::string name;
        QAT_RETURN_IF_ERROR(r.bytes(nlen, &name, "tensor name"));
        uint8_t dt = 0, rank = 0;
        QAT_RETURN_IF_ERROR(r.get(&dt, "tensor dtype"));
        QAT_RETURN_IF_ERROR(r.get(&rank, "tensor rank"));
        const DataType dtype = static_cast<DataType>(dt);
        if (dtype_size(dtype) == 0 || dtype == DataType::kFloat16)
            return invalid_argument("checkpoint ", what, " is corrupt: tensor '", name, "' has dtype code ", int(dt));
        std::vector<int64_t> dims(rank);
        for (auto& d : dims) {
            QAT_RETURN_IF_ERROR(r.get(&d, "tensor dims"));
            if (d < 0) return invalid_argument("checkpoint ", what, " is corrupt: tensor '", name, "' has dim ", d);
        }
        uint64_t nbytes = 0;
        QAT_RETURN_IF_ERROR(r.get(&nbytes, "tensor size"));
        // Checked before allocating: dims must account for exactly the bytes stored.
        long double expect = static_cast<long double>(dtype_size(dtype));
        for (int64_t d : dims) expect *= static_cast<long double>(d);
        if (expect != static_cast<long double>(nbytes) || nbytes > bytes.size())
            return invalid_argument("checkpoint ", what, " is corrupt: tensor '", name, "' has ", nbytes,
                                    " bytes for dims ", dims_to_string(dims));
        Tensor t = Tensor::empty(dtype, dims);
        QAT_RETURN_IF_ERROR(r.copy(static_cast<size_t>(nbytes), t.raw_data(), "tensor data"));
        c.tensors.emplace_back(std::move(name), std::move(t));
    }
    if (r.pos() != body) return invalid_argument("checkpoint ", what, " is corrupt: trailing bytes");
    return c;
}

Status save_checkpoint(const std::string& path, const Checkpoint& c) {
    return write_file_atomic(path, serialize_checkpoint(c));
}

Result<Checkpoint> load_checkpoint(const std::string& path) {
    QAT_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
    return parse_checkpoint(bytes, "'" + path + "'");
}

}  // namespace qat::train
