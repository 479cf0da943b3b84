// Shape of a graph value: static dims, symbolic dims ("N", "batch") or unknown dims.
//
// Tensors at run time always have concrete dims (std::vector<int64_t>); Shape is what the IR
// knows before any data is seen, so a batch dimension can stay symbolic through import, passes
// and export.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qat {

struct Dim {
    int64_t value = -1;  // >= 0 when known
    std::string symbol;  // non-empty for a named symbolic dim

    Dim() = default;
    Dim(int64_t v) : value(v) {}  // NOLINT: implicit so Shape{1, 3, 224, 224} reads naturally
    static Dim symbolic(std::string name) {
        Dim d;
        d.symbol = std::move(name);
        return d;
    }
    bool is_static() const { return value >= 0; }
    bool operator==(const Dim& o) const { return value == o.value && symbol == o.symbol; }
    std::string to_string() const;  // "3", "N" or "?"
};

class Shape {
public:
    Shape() = default;
    Shape(std::initializer_list<Dim> dims) : dims_(dims), rank_known_(true) {}
    explicit Shape(std::vector<Dim> dims) : dims_(std::move(dims)), rank_known_(true) {}
    static Shape from_dims(const std::vector<int64_t>& dims);
    static Shape unknown_rank() { return Shape(); }

    bool rank_known() const { return rank_known_; }
    size_t rank() const { return dims_.size(); }
    const std::vector<Dim>& dims() const { return dims_; }
    std::vector<Dim>& dims() { return dims_; }
    const Dim& operator[](size_t i) const { return dims_[i]; }
    Dim& operator[](size_t i) { return dims_[i]; }

    bool is_static() const;
    // Concrete dims; nullopt unless is_static().
    std::optional<std::vector<int64_t>> static_dims() const;
    // Element count; nullopt unless is_static().
    std::optional<int64_t> numel() const;

    bool operator==(const Shape& o) const { return rank_known_ == o.rank_known_ && dims_ == o.dims_; }
    bool operator!=(const Shape& o) const { return !(*this == o); }
    // "[N,3,224,224]", "[]" for a scalar, "[*]" when the rank is unknown.
    std::string to_string() const;

private:
    std::vector<Dim> dims_;
    bool rank_known_ = false;
};

// "[1,3,224,224]"
std::string dims_to_string(const std::vector<int64_t>& dims);
int64_t numel_of(const std::vector<int64_t>& dims);

}  // namespace qat
