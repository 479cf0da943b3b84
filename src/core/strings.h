// Small string helpers shared by the CLI and the benchmarks.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace qat {

// "a,b,,c" -> {"a", "b", "c"}: the items of a separated list, empty items dropped.
inline std::vector<std::string> split_list(const std::string& s, char sep = ',') {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, sep))
        if (!item.empty()) out.push_back(item);
    return out;
}

}  // namespace qat
