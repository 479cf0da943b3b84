// Internal helpers of src/data (not a public header): whole-file reads that undo gzip, and
// sorted directory listings with clear errors.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace qat::data::detail {

// The file's bytes (errors as core/file_util.h's read_file: missing, a directory, unreadable).
Result<std::string> read_whole_file(const std::string& path);
// The file's bytes; gzip files (magic 1f 8b) are inflated. A truncated or corrupt gzip stream is
// an error naming the path.
Result<std::string> read_maybe_gzip(const std::string& path);
// Inflates gzip bytes (all members); `what` names the source in errors.
Result<std::string> gunzip(const std::string& bytes, const std::string& what);

struct DirEntry {
    std::string name;  // file name only
    std::string path;  // dir + "/" + name
    bool is_dir = false;
};
// Entries of `dir` sorted by name (byte order), hidden entries (".x") skipped. Errors name dir:
// missing, not a directory, unreadable.
Result<std::vector<DirEntry>> list_dir(const std::string& dir);

std::string to_lower(std::string s);
bool ends_with(const std::string& s, const std::string& suffix);
bool contains(const std::string& s, const std::string& part);

}  // namespace qat::data::detail
