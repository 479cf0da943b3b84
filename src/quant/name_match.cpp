#include "quant/name_match.h"

#include <fnmatch.h>

#include <algorithm>
#include <set>

namespace qat::quant {

bool is_glob(const std::string& p) { return p.find_first_of("*?[") != std::string::npos; }

bool glob_match(const std::string& pattern, const std::string& text) {
    if (!is_glob(pattern)) return pattern == text;
    return fnmatch(pattern.c_str(), text.c_str(), 0) == 0;
}

size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
        }
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::vector<std::string> closest_names(const std::string& query, const std::vector<std::string>& candidates, size_t n) {
    std::string q;
    for (char c : query)
        if (c != '*' && c != '?' && c != '[' && c != ']') q += c;
    std::set<std::pair<size_t, std::string>> ranked;
    for (const auto& c : candidates)
        if (!c.empty()) ranked.insert({edit_distance(q, c), c});
    std::vector<std::string> out;
    for (const auto& [d, name] : ranked) {
        if (out.size() >= n) break;
        out.push_back(name);
    }
    return out;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
    std::string s;
    for (size_t i = 0; i < items.size(); ++i) s += (i ? sep : "") + items[i];
    return s;
}

}  // namespace qat::quant
