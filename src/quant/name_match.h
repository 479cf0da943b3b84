// Name matching for QuantSpec entries and CLI filters: shell-style globs over node names, and
// "did you mean" suggestions (edit distance) for entries that match nothing.
//
//   glob_match("block1_*", "block1_conv2")             -> true
//   closest_names("conv_1", {"conv1", "conv2", "fc"})   -> {"conv1", "conv2"}
#pragma once

#include <string>
#include <vector>

namespace qat::quant {

// True when `pattern` holds a glob metacharacter (* ? [).
bool is_glob(const std::string& pattern);
// Shell-style match (* ? [a-z]); an exact comparison when the pattern has no metacharacter.
bool glob_match(const std::string& pattern, const std::string& text);
// Levenshtein distance.
size_t edit_distance(const std::string& a, const std::string& b);
// Up to `n` candidates closest to `query` (wildcards removed), nearest first, ties by name.
std::vector<std::string> closest_names(const std::string& query, const std::vector<std::string>& candidates,
                                       size_t n = 5);
// "a, b, c"
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

}  // namespace qat::quant
