#include "core/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace qat {
namespace fs = std::filesystem;

bool file_exists(const std::string& path) {
    std::error_code ec;
    return fs::exists(path, ec);
}

bool is_directory(const std::string& path) {
    std::error_code ec;
    return fs::is_directory(path, ec);
}

Result<std::string> read_file(const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return not_found("file not found: ", path);
    if (fs::is_directory(path, ec)) return invalid_argument(path, " is a directory, expected a file");
    std::ifstream in(path, std::ios::binary);
    if (!in) return io_error("cannot open ", path, ": ", std::strerror(errno));
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return io_error("error reading ", path);
    return bytes;
}

static std::string temp_name_for(const std::string& path) {
    static thread_local std::mt19937_64 rng(std::random_device{}());
    char suffix[32];
    std::snprintf(suffix, sizeof(suffix), ".tmp%08llx", static_cast<unsigned long long>(rng() & 0xffffffffull));
    return path + suffix;
}

Status write_atomic_with(const std::string& path, const std::function<Status(const std::string&)>& write) {
    QAT_RETURN_IF_ERROR(check_writable_file(path));
    std::string tmp = temp_name_for(path);
    Status s = write(tmp);
    if (!s.ok()) {
        std::remove(tmp.c_str());
        return s;
    }
    // fsync is skipped on purpose: the guarantee we need is "never half-written", not durability.
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        int err = errno;
        std::remove(tmp.c_str());
        return io_error("cannot write ", path, ": ", std::strerror(err));
    }
    return OkStatus();
}

Status write_file_atomic(const std::string& path, const std::string& bytes) {
    return write_atomic_with(path, [&](const std::string& tmp) -> Status {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) return io_error("cannot write ", path, ": ", std::strerror(errno));
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        out.close();
        if (!out) return io_error("error writing ", path);
        return OkStatus();
    });
}

Status check_writable_file(const std::string& path) {
    if (path.empty()) return invalid_argument("empty output path");
    std::error_code ec;
    if (fs::is_directory(path, ec)) return invalid_argument("output ", path, " is a directory");
    fs::path parent = fs::path(path).parent_path();
    if (parent.empty()) parent = ".";
    if (!fs::is_directory(parent, ec)) return not_found("output folder ", parent.string(), " does not exist");
    if (::access(parent.c_str(), W_OK) != 0) return io_error("output folder ", parent.string(), " is not writable");
    if (fs::exists(path, ec) && ::access(path.c_str(), W_OK) != 0)
        return io_error("output ", path, " exists and is not writable");
    return OkStatus();
}

Status check_writable_dir(const std::string& dir, bool create) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        if (!create) return not_found("folder ", dir, " does not exist");
        fs::create_directories(dir, ec);
        if (ec) return io_error("cannot create folder ", dir, ": ", ec.message());
    }
    if (!fs::is_directory(dir, ec)) return invalid_argument(dir, " is not a folder");
    if (::access(dir.c_str(), W_OK) != 0) return io_error("folder ", dir, " is not writable");
    return OkStatus();
}

}  // namespace qat
