#include "core/npy.h"

#include <cstring>

#include "core/file_util.h"

namespace qat {
namespace {

const char kMagic[] = "\x93NUMPY";

const char* descr_of(DataType t) {
    switch (t) {
        case DataType::kFloat32: return "<f4";
        case DataType::kFloat16: return "<f2";
        case DataType::kFloat64: return "<f8";
        case DataType::kInt8: return "|i1";
        case DataType::kUint8: return "|u1";
        case DataType::kInt16: return "<i2";
        case DataType::kInt32: return "<i4";
        case DataType::kInt64: return "<i8";
        case DataType::kBool: return "|b1";
        default: return nullptr;
    }
}

DataType dtype_of_descr(const std::string& d) {
    // '=' and '<' are little-endian on this platform; '|' means byte-sized.
    if (d.size() != 3 || (d[0] != '<' && d[0] != '|' && d[0] != '=')) return DataType::kUndefined;
    std::string k = d.substr(1);
    if (k == "f4") return DataType::kFloat32;
    if (k == "f2") return DataType::kFloat16;
    if (k == "f8") return DataType::kFloat64;
    if (k == "i1") return DataType::kInt8;
    if (k == "u1") return DataType::kUint8;
    if (k == "i2") return DataType::kInt16;
    if (k == "i4") return DataType::kInt32;
    if (k == "i8") return DataType::kInt64;
    if (k == "b1") return DataType::kBool;
    return DataType::kUndefined;
}

// Value of `'key': <value>` in the header dict, as raw text up to the next top-level comma/brace.
bool header_field(const std::string& h, const std::string& key, std::string* out) {
    size_t k = h.find("'" + key + "'");
    if (k == std::string::npos) return false;
    size_t colon = h.find(':', k);
    if (colon == std::string::npos) return false;
    size_t i = colon + 1;
    while (i < h.size() && h[i] == ' ') ++i;
    size_t start = i;
    int depth = 0;
    for (; i < h.size(); ++i) {
        char c = h[i];
        if (c == '(') ++depth;
        if (c == ')') --depth;
        if (depth == 0 && (c == ',' || c == '}')) break;
        if (depth < 0) break;
    }
    if (depth > 0 || i > h.size()) return false;
    *out = h.substr(start, i - start + (h[i] == ')' ? 1 : 0));
    while (!out->empty() && out->back() == ' ') out->pop_back();
    return true;
}

}  // namespace

Result<Tensor> parse_npy(const std::string& b, const std::string& what) {
    if (b.size() < 10 || std::memcmp(b.data(), kMagic, 6) != 0) return invalid_argument(what, " is not a .npy file");
    int major = static_cast<unsigned char>(b[6]);
    size_t header_len, offset;
    if (major == 1) {
        header_len = static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8);
        offset = 10;
    } else if (major == 2 || major == 3) {
        if (b.size() < 12) return invalid_argument(what, ": truncated .npy header");
        header_len = 0;
        for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(b[8 + i])) << (8 * i);
        offset = 12;
    } else {
        return unsupported(what, ": .npy format version ", major, " is not supported");
    }
    if (b.size() < offset + header_len) return invalid_argument(what, ": truncated .npy header");
    std::string h = b.substr(offset, header_len);
    std::string descr, fortran, shape;
    if (!header_field(h, "descr", &descr) || !header_field(h, "fortran_order", &fortran) ||
        !header_field(h, "shape", &shape))
        return invalid_argument(what, ": malformed .npy header: ", h);
    if (descr.size() >= 2 && (descr.front() == '\'' || descr.front() == '"')) descr = descr.substr(1, descr.size() - 2);
    DataType dt = dtype_of_descr(descr);
    if (dt == DataType::kUndefined) return unsupported(what, ": .npy dtype '", descr, "' is not supported");
    if (fortran.rfind("True", 0) == 0) return unsupported(what, ": Fortran-ordered .npy arrays are not supported");
    std::vector<int64_t> dims;
    if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')')
        return invalid_argument(what, ": malformed .npy shape ", shape);
    std::string inner = shape.substr(1, shape.size() - 2);
    size_t i = 0;
    while (i < inner.size()) {
        while (i < inner.size() && (inner[i] == ' ' || inner[i] == ',')) ++i;
        if (i >= inner.size()) break;
        size_t j = i;
        while (j < inner.size() && inner[j] >= '0' && inner[j] <= '9') ++j;
        if (j == i) return invalid_argument(what, ": malformed .npy shape ", shape);
        dims.push_back(std::stoll(inner.substr(i, j - i)));
        i = j;
        while (i < inner.size() && inner[i] == 'L') ++i;
    }
    size_t data_off = offset + header_len;
    Tensor t = Tensor::empty(dt, dims);
    if (b.size() - data_off < t.nbytes())
        return invalid_argument(what, ": .npy data is truncated (", b.size() - data_off, " bytes, expected ",
                                t.nbytes(), ")");
    if (t.nbytes()) std::memcpy(t.raw_data(), b.data() + data_off, t.nbytes());
    return t;
}

Result<Tensor> load_npy(const std::string& path) {
    QAT_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
    return parse_npy(bytes, path);
}

std::string serialize_npy(const Tensor& t) {
    const char* descr = descr_of(t.dtype());
    QAT_ASSERT(descr != nullptr, "no .npy dtype for ", dtype_name(t.dtype()));
    // Python tuple syntax: "()", "(5,)", "(2, 3)".
    std::string shape = "(";
    for (size_t i = 0; i < t.rank(); ++i) shape += (i ? ", " : "") + std::to_string(t.dim(i));
    if (t.rank() == 1) shape += ",";
    shape += ")";
    std::string h = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    // Pad so the data starts on a 64-byte boundary; the header ends with '\n'.
    size_t total = 10 + h.size() + 1;
    size_t pad = (64 - total % 64) % 64;
    h.append(pad, ' ');
    h.push_back('\n');
    std::string out(kMagic, 6);
    out.push_back('\x01');
    out.push_back('\x00');
    out.push_back(static_cast<char>(h.size() & 0xff));
    out.push_back(static_cast<char>((h.size() >> 8) & 0xff));
    out += h;
    out.append(static_cast<const char*>(t.raw_data()), t.nbytes());
    return out;
}

Status save_npy(const std::string& path, const Tensor& t) {
    if (!descr_of(t.dtype())) return unsupported("cannot save ", dtype_name(t.dtype()), " as .npy");
    return write_file_atomic(path, serialize_npy(t));
}

}  // namespace qat
