#include "data/io_util.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/file_util.h"

namespace qat::data::detail {
namespace fs = std::filesystem;

Result<std::string> gunzip(const std::string& bytes, const std::string& what) {
    if (bytes.size() > 0xffffffffu) return unsupported(what, ": gzip files over 4 GiB are not supported");
    std::string out;
    // The gzip trailer's ISIZE is the uncompressed size mod 2^32 (of the last member): a good
    // first guess that avoids growing (and zero-filling) the buffer several times.
    size_t guess = bytes.size() * 4;
    if (bytes.size() >= 18) {
        const auto* t = reinterpret_cast<const unsigned char*>(bytes.data() + bytes.size() - 4);
        size_t isize = size_t{t[0]} | (size_t{t[1]} << 8) | (size_t{t[2]} << 16) | (size_t{t[3]} << 24);
        if (isize >= bytes.size() / 2 && isize <= bytes.size() * 1100) guess = isize + 1;
    }
    out.resize(std::max<size_t>(guess, 1 << 16));
    z_stream zs{};
    // 16 + MAX_WBITS: gzip wrapper only.
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return internal_error("zlib inflateInit2 failed");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    zs.avail_in = static_cast<uInt>(bytes.size());
    size_t produced = 0;
    for (;;) {
        if (produced == out.size()) out.resize(out.size() * 2);
        size_t room = std::min<size_t>(out.size() - produced, 1u << 30);
        zs.next_out = reinterpret_cast<Bytef*>(&out[produced]);
        zs.avail_out = static_cast<uInt>(room);
        int rc = inflate(&zs, Z_NO_FLUSH);
        produced += room - zs.avail_out;
        if (rc == Z_STREAM_END) {
            // Concatenated gzip members are one stream by the format's definition.
            if (zs.avail_in == 0) break;
            if (inflateReset(&zs) != Z_OK) {
                inflateEnd(&zs);
                return internal_error("zlib inflateReset failed");
            }
            continue;
        }
        if (rc == Z_BUF_ERROR && zs.avail_in == 0 && zs.avail_out != 0) {
            inflateEnd(&zs);
            return invalid_argument(what, ": truncated gzip stream (", bytes.size(), " compressed bytes end early)");
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            std::string msg = zs.msg ? zs.msg : "error " + std::to_string(rc);
            inflateEnd(&zs);
            return invalid_argument(what, ": corrupt gzip data (", msg, ")");
        }
    }
    inflateEnd(&zs);
    out.resize(produced);
    // Data sets keep these bytes for their lifetime: do not keep the slack too.
    if (out.capacity() > produced + produced / 8) out.shrink_to_fit();
    return out;
}

Result<std::string> read_whole_file(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return not_found("file not found: ", path);
    if (fs::is_directory(path, ec)) return invalid_argument(path, " is a directory, expected a file");
    // One sized read: much faster than streaming through istreambuf_iterator for data sets.
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return io_error("cannot open ", path, ": ", std::strerror(errno));
    std::string bytes;
    char buf[1 << 16];
    if (std::fseek(f, 0, SEEK_END) == 0) {
        long size = std::ftell(f);
        if (size > 0) bytes.reserve(static_cast<size_t>(size));
        std::rewind(f);
    }
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) bytes.append(buf, n);
    bool failed = std::ferror(f) != 0;
    std::fclose(f);
    if (failed) return io_error("error reading ", path);
    return bytes;
}

Result<std::string> read_maybe_gzip(const std::string& path) {
    Result<std::string> bytes = read_whole_file(path);
    if (!bytes.ok()) return bytes;
    const std::string& b = *bytes;
    if (b.size() >= 2 && static_cast<unsigned char>(b[0]) == 0x1f && static_cast<unsigned char>(b[1]) == 0x8b)
        return gunzip(b, path);
    return bytes;
}

Result<std::vector<DirEntry>> list_dir(const std::string& dir) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) return not_found("data folder not found: ", dir);
    if (!fs::is_directory(dir, ec)) return invalid_argument(dir, " is not a folder");
    std::vector<DirEntry> out;
    fs::directory_iterator it(dir, ec), end;
    if (ec) return io_error("cannot read folder ", dir, ": ", ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) return io_error("cannot read folder ", dir, ": ", ec.message());
        std::string name = it->path().filename().string();
        if (name.empty() || name[0] == '.') continue;
        DirEntry e;
        e.name = name;
        e.path = (fs::path(dir) / name).string();
        e.is_dir = it->is_directory(ec);
        out.push_back(std::move(e));
    }
    if (ec) return io_error("cannot read folder ", dir, ": ", ec.message());
    std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    return out;
}

std::string to_lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace qat::data::detail
