#include "core/shape.h"

namespace qat {

std::string Dim::to_string() const {
    if (value >= 0) return std::to_string(value);
    if (!symbol.empty()) return symbol;
    return "?";
}

Shape Shape::from_dims(const std::vector<int64_t>& dims) {
    std::vector<Dim> d(dims.begin(), dims.end());
    return Shape(std::move(d));
}

bool Shape::is_static() const {
    if (!rank_known_) return false;
    for (const auto& d : dims_)
        if (!d.is_static()) return false;
    return true;
}

std::optional<std::vector<int64_t>> Shape::static_dims() const {
    if (!is_static()) return std::nullopt;
    std::vector<int64_t> out;
    out.reserve(dims_.size());
    for (const auto& d : dims_) out.push_back(d.value);
    return out;
}

std::optional<int64_t> Shape::numel() const {
    if (!is_static()) return std::nullopt;
    int64_t n = 1;
    for (const auto& d : dims_) n *= d.value;
    return n;
}

std::string Shape::to_string() const {
    if (!rank_known_) return "[*]";
    std::string s = "[";
    for (size_t i = 0; i < dims_.size(); ++i) {
        if (i) s += ",";
        s += dims_[i].to_string();
    }
    return s + "]";
}

std::string dims_to_string(const std::vector<int64_t>& dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) {
        if (i) s += ",";
        s += std::to_string(dims[i]);
    }
    return s + "]";
}

int64_t numel_of(const std::vector<int64_t>& dims) {
    int64_t n = 1;
    for (auto d : dims) n *= d;
    return n;
}

}  // namespace qat
