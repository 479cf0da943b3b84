// File helpers with the project's rules built in: read whole files with clear errors, and write
// outputs atomically (temporary file in the same folder, then rename) so that a failure never
// leaves a half-written output behind.
#pragma once

#include <functional>
#include <string>

#include "core/status.h"

namespace qat {

// Whole file as bytes. Errors name the path: missing, a directory, unreadable.
Result<std::string> read_file(const std::string& path);
// Writes bytes to path atomically.
Status write_file_atomic(const std::string& path, const std::string& bytes);
// Calls `write(tmp_path)` to produce the file, then renames tmp_path onto path. On failure the
// temporary file is removed and `path` is untouched.
Status write_atomic_with(const std::string& path, const std::function<Status(const std::string& tmp_path)>& write);
// Checks, before long work starts, that `path` can be created: its folder exists and is
// writable, and path itself is not a directory.
Status check_writable_file(const std::string& path);
// Checks that `dir` exists (creating it when create is true) and is a writable directory.
Status check_writable_dir(const std::string& dir, bool create = true);
bool file_exists(const std::string& path);
bool is_directory(const std::string& path);

}  // namespace qat
