#include "ir/text_form.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace qat::ir {

namespace {

// ============================================================================================
// Shared helpers
// ============================================================================================

bool is_bare_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-' || c == '/';
}
bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.'; }

std::string quote(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    static const char* kHex = "0123456789abcdef";
                    out += "\\x";
                    out += kHex[c >> 4];
                    out += kHex[c & 15];
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

// An identifier the lexer reads back as one token (op types, dims, attribute names).
bool is_ident(const std::string& s) {
    if (s.empty() || !is_ident_start(s[0])) return false;
    for (char c : s)
        if (!is_ident_char(c)) return false;
    return true;
}

std::string ident_or_quoted(const std::string& s) { return is_ident(s) ? s : quote(s); }

uint64_t fnv1a(const void* data, size_t n, uint64_t h = 1469598103934665603ull) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

std::string hex64(uint64_t v) {
    static const char* kHex = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) s[i] = kHex[v & 15];
    return s;
}

// Shortest text that reads back to the same float; always has '.', 'e', "inf" or "nan" so it
// never reads as an integer.
std::string fmt_float(float f) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), f);
    std::string s(buf, r.ptr);
    if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
    return s;
}
std::string fmt_double(double f) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), f);
    std::string s(buf, r.ptr);
    if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
    return s;
}

std::string fmt_dim_symbol(const std::string& sym) {
    // '?' and '*' mean unknown; a symbol that reads as anything else is quoted.
    return is_ident(sym) ? sym : quote(sym);
}

std::string fmt_shape(const Shape& s) {
    if (!s.rank_known()) return "[*]";
    std::string out = "[";
    for (size_t i = 0; i < s.rank(); ++i) {
        if (i) out += ",";
        const Dim& d = s[i];
        if (d.is_static())
            out += std::to_string(d.value);
        else if (!d.symbol.empty())
            out += fmt_dim_symbol(d.symbol);
        else
            out += "?";
    }
    return out + "]";
}

std::string fmt_type(DataType t, const Shape& s) {
    return std::string(t == DataType::kUndefined ? "?" : dtype_name(t)) + fmt_shape(s);
}

std::string fmt_element(const Tensor& t, int64_t i) {
    switch (t.dtype()) {
        case DataType::kFloat32:
            return fmt_float(t.data<float>()[i]);
        case DataType::kFloat64:
            return fmt_double(t.data<double>()[i]);
        case DataType::kFloat16:
            return fmt_float(half_to_float(static_cast<const uint16_t*>(t.raw_data())[i]));
        case DataType::kInt64:
            return std::to_string(t.data<int64_t>()[i]);
        case DataType::kBool:
            return t.data<bool>()[i] ? "1" : "0";
        default:
            return std::to_string(static_cast<int64_t>(t.get_as_double(i)));
    }
}

std::string fmt_payload(const Tensor& t) {
    std::string out = "{";
    for (int64_t i = 0; i < t.numel(); ++i) {
        if (i) out += ", ";
        out += fmt_element(t, i);
    }
    return out + "}";
}

uint64_t tensor_digest(const Tensor& t) { return fnv1a(t.raw_data(), t.nbytes()); }

// ============================================================================================
// Canonical order
// ============================================================================================

// Depth-first post-order from the graph outputs (inputs left to right): a topological order that
// depends only on the structure. Nodes that reach no output follow, in Graph::topo_order.
// Returns nullopt on a cycle.
std::optional<std::vector<const Node*>> canonical_order(const Graph& g) {
    std::vector<Node*> all = g.nodes();
    std::unordered_map<const Node*, int> state;  // 0 new, 1 on stack, 2 done
    for (const Node* n : all) state[n] = 0;
    std::vector<const Node*> order;
    order.reserve(all.size());
    bool cyclic = false;
    auto visit = [&](const Node* root) {
        if (!root || !state.count(root) || state[root] != 0) return;
        std::vector<std::pair<const Node*, size_t>> stack{{root, 0}};
        state[root] = 1;
        while (!stack.empty()) {
            auto& [n, next] = stack.back();
            if (next < n->num_inputs()) {
                const Value* v = n->input(next++);
                const Node* p = v ? v->producer() : nullptr;
                if (!p || !state.count(p)) continue;
                if (state[p] == 0) {
                    state[p] = 1;
                    stack.push_back({p, 0});
                } else if (state[p] == 1) {
                    cyclic = true;
                }
            } else {
                state[n] = 2;
                order.push_back(n);
                stack.pop_back();
            }
        }
    };
    for (const Value* o : g.outputs()) visit(o->producer());
    if (order.size() != all.size()) {
        auto topo = g.topo_order();
        if (!topo.ok()) return std::nullopt;
        for (const Node* n : *topo) visit(n);
    }
    if (cyclic) return std::nullopt;
    return order;
}

// ============================================================================================
// Printer
// ============================================================================================

class Printer {
  public:
    Printer(const Graph& g, const PrintOptions& o) : g_(g), o_(o) {}

    std::string run() {
        const ModelInfo& info = g_.info();
        bool default_opsets = info.opsets.size() == 1 && info.opset("") == 13;
        if (o_.always_print_opsets || !default_opsets) {
            for (const auto& op : info.opsets) {
                std::string d = op.domain.empty() ? "ai.onnx" : op.domain;
                os_ << "opset " << ident_or_quoted(d) << " " << op.version << "\n";
            }
        }
        os_ << "graph " << ident_or_quoted(info.graph_name) << "(";
        for (size_t i = 0; i < g_.inputs().size(); ++i) {
            const Value* v = g_.inputs()[i];
            if (i) os_ << ", ";
            os_ << name_of(v) << ": " << fmt_type(v->dtype(), v->shape());
        }
        os_ << ") -> (";
        for (size_t i = 0; i < g_.outputs().size(); ++i) {
            if (i) os_ << ", ";
            os_ << name_of(g_.outputs()[i]);
        }
        os_ << ") {\n";

        auto order = canonical_order(g_);
        std::vector<const Node*> nodes;
        if (order) {
            nodes = std::move(*order);
        } else {
            os_ << "  # the graph has a cycle: nodes in insertion order\n";
            for (const Node* n : g_.nodes()) nodes.push_back(n);
        }
        for (const Node* n : nodes) {
            for (const Value* in : n->inputs())
                if (in) maybe_print_free_value(in);
            print_node(*n);
        }
        // Initializers and dangling values nobody reads (or only graph outputs).
        for (const Value* v : g_.values()) maybe_print_free_value(v);
        os_ << "}\n";
        return os_.str();
    }

  private:
    std::string name_of(const Value* v) {
        if (!o_.canonical_names || v->is_graph_input() || v->is_graph_output()) return "%" + text_form_name(v->name());
        auto it = canonical_.find(v);
        if (it == canonical_.end()) it = canonical_.emplace(v, "%_" + std::to_string(canonical_.size())).first;
        return it->second;
    }

    // A value with no producer that is not a plain graph input: an initializer (also when it is
    // a graph input with a default) or a dangling value.
    void maybe_print_free_value(const Value* v) {
        if (v->producer() || printed_.count(v)) return;
        if (v->is_graph_input() && !v->is_constant()) return;
        printed_.insert(v);
        os_ << "  " << name_of(v) << " = ";
        if (v->is_constant()) {
            const Tensor& t = v->constant();
            os_ << "init " << fmt_type(t.dtype(), t.shape());
            std::string comment;
            append_payload(t, &comment);
            if (!comment.empty()) os_ << "  #" << comment;
        } else {
            os_ << "dangling " << fmt_type(v->dtype(), v->shape());
        }
        os_ << "\n";
    }

    void append_payload(const Tensor& t, std::string* comment) {
        if (o_.max_inline_elements < 0 || t.numel() <= o_.max_inline_elements) {
            os_ << " " << fmt_payload(t);
        } else if (o_.payload_digest) {
            *comment += " fnv=" + hex64(tensor_digest(t));
        }
    }

    void print_attr(const Attribute& a, std::string* comment) {
        switch (a.kind) {
            case Attribute::Kind::kUndefined:
                os_ << "undefined";
                break;
            case Attribute::Kind::kInt:
                os_ << a.i;
                break;
            case Attribute::Kind::kFloat:
                os_ << fmt_float(a.f);
                break;
            case Attribute::Kind::kString:
                os_ << quote(a.s);
                break;
            case Attribute::Kind::kInts:
                if (a.ints.empty()) {
                    os_ << "ints[]";
                } else {
                    os_ << "[";
                    for (size_t i = 0; i < a.ints.size(); ++i) os_ << (i ? "," : "") << a.ints[i];
                    os_ << "]";
                }
                break;
            case Attribute::Kind::kFloats:
                if (a.floats.empty()) {
                    os_ << "floats[]";
                } else {
                    os_ << "[";
                    for (size_t i = 0; i < a.floats.size(); ++i) os_ << (i ? "," : "") << fmt_float(a.floats[i]);
                    os_ << "]";
                }
                break;
            case Attribute::Kind::kStrings:
                if (a.strings.empty()) {
                    os_ << "strings[]";
                } else {
                    os_ << "[";
                    for (size_t i = 0; i < a.strings.size(); ++i) os_ << (i ? "," : "") << quote(a.strings[i]);
                    os_ << "]";
                }
                break;
            case Attribute::Kind::kTensor:
                os_ << "tensor " << fmt_type(a.t.dtype(), a.t.shape());
                append_payload(a.t, comment);
                break;
            case Attribute::Kind::kOpaque: {
                static const char* kHex = "0123456789abcdef";
                std::string hex;
                for (unsigned char c : a.s) {
                    hex += kHex[c >> 4];
                    hex += kHex[c & 15];
                }
                os_ << "opaque \"" << hex << "\"";
                break;
            }
        }
    }

    void print_node(const Node& n) {
        os_ << "  ";
        for (size_t i = 0; i < n.num_outputs(); ++i) {
            const Value* v = n.output(i);
            if (i) os_ << ", ";
            os_ << name_of(v);
            if (o_.types && (v->dtype() != DataType::kUndefined || v->shape().rank_known()))
                os_ << ": " << fmt_type(v->dtype(), v->shape());
        }
        if (n.num_outputs() > 0) os_ << " = ";
        if (!n.domain().empty()) os_ << ident_or_quoted(n.domain()) << "::";
        os_ << ident_or_quoted(n.op_type());
        std::string comment;
        if (!n.attrs().empty()) {
            os_ << "[";
            bool first = true;
            for (const auto& [name, a] : n.attrs()) {
                if (!first) os_ << ", ";
                first = false;
                os_ << ident_or_quoted(name) << "=";
                std::string c;
                print_attr(a, &c);
                if (!c.empty()) comment += " " + name + ":" + c;
            }
            os_ << "]";
        }
        os_ << "(";
        for (size_t i = 0; i < n.num_inputs(); ++i) {
            if (i) os_ << ", ";
            const Value* v = n.input(i);
            os_ << (v ? name_of(v) : std::string("_"));
        }
        os_ << ")";
        if (o_.node_names && !n.name().empty()) os_ << " @" << text_form_name(n.name());
        if (!comment.empty()) os_ << "  #" << comment;
        os_ << "\n";
    }

    const Graph& g_;
    const PrintOptions& o_;
    std::ostringstream os_;
    std::unordered_set<const Value*> printed_;
    std::unordered_map<const Value*, std::string> canonical_;
};

// ============================================================================================
// Lexer
// ============================================================================================

struct Loc {
    int line = 1;
    int col = 1;
};

std::string loc_str(Loc l) { return "line " + std::to_string(l.line) + ":" + std::to_string(l.col); }

enum class Tok { kEnd, kValue, kNodeName, kIdent, kNumber, kString, kPunct };

struct Token {
    Tok kind = Tok::kEnd;
    std::string text;  // name / identifier / number text / unescaped string / punctuation
    bool is_float = false;
    Loc loc;
};

std::string describe(const Token& t) {
    switch (t.kind) {
        case Tok::kEnd:
            return "end of text";
        case Tok::kValue:
            return "'%" + t.text + "'";
        case Tok::kNodeName:
            return "'@" + t.text + "'";
        case Tok::kString:
            return quote(t.text);
        default:
            return "'" + t.text + "'";
    }
}

class Lexer {
  public:
    explicit Lexer(std::string_view s) : s_(s) {}

    Status tokenize(std::vector<Token>* out) {
        for (;;) {
            skip_space();
            Token t;
            t.loc = loc_;
            if (pos_ >= s_.size()) {
                out->push_back(t);
                return OkStatus();
            }
            char c = s_[pos_];
            if (c == '%' || c == '@') {
                advance();
                t.kind = c == '%' ? Tok::kValue : Tok::kNodeName;
                if (pos_ < s_.size() && s_[pos_] == '"') {
                    QAT_RETURN_IF_ERROR(read_string(&t.text));
                } else {
                    size_t start = pos_;
                    while (pos_ < s_.size() && is_bare_char(s_[pos_])) advance();
                    if (pos_ == start) return invalid_argument(loc_str(t.loc), ": expected a name after '", c, "'");
                    t.text = std::string(s_.substr(start, pos_ - start));
                }
            } else if (c == '"') {
                t.kind = Tok::kString;
                QAT_RETURN_IF_ERROR(read_string(&t.text));
            } else if (c == '-' && peek(1) == '>') {
                t.kind = Tok::kPunct;
                t.text = "->";
                advance();
                advance();
            } else if (c == ':' && peek(1) == ':') {
                t.kind = Tok::kPunct;
                t.text = "::";
                advance();
                advance();
            } else if ((c >= '0' && c <= '9') ||
                       ((c == '-' || c == '+') && (std::isdigit(static_cast<unsigned char>(peek(1))) ||
                                                   peek(1) == '.' || peek(1) == 'i' || peek(1) == 'n'))) {
                t.kind = Tok::kNumber;
                size_t start = pos_;
                if (c == '-' || c == '+') advance();
                if (s_.substr(pos_, 3) == "inf" || s_.substr(pos_, 3) == "nan") {
                    advance();
                    advance();
                    advance();
                    t.is_float = true;
                } else {
                    while (pos_ < s_.size()) {
                        char d = s_[pos_];
                        if (std::isdigit(static_cast<unsigned char>(d))) {
                            advance();
                        } else if (d == '.' || d == 'e' || d == 'E') {
                            t.is_float = true;
                            advance();
                            if ((d == 'e' || d == 'E') && pos_ < s_.size() && (s_[pos_] == '-' || s_[pos_] == '+'))
                                advance();
                        } else {
                            break;
                        }
                    }
                }
                t.text = std::string(s_.substr(start, pos_ - start));
                if (pos_ < s_.size() && is_ident_char(s_[pos_]))
                    return invalid_argument(loc_str(t.loc), ": malformed number '", t.text, s_[pos_], "...'");
            } else if (is_ident_start(c)) {
                t.kind = Tok::kIdent;
                size_t start = pos_;
                while (pos_ < s_.size() && is_ident_char(s_[pos_])) advance();
                t.text = std::string(s_.substr(start, pos_ - start));
            } else if (std::strchr("()[]{},=:?*", c)) {
                t.kind = Tok::kPunct;
                t.text = std::string(1, c);
                advance();
            } else {
                return invalid_argument(loc_str(t.loc), ": unexpected character '", c, "'");
            }
            out->push_back(std::move(t));
        }
    }

  private:
    char peek(size_t k) const { return pos_ + k < s_.size() ? s_[pos_ + k] : '\0'; }
    void advance() {
        if (s_[pos_] == '\n') {
            ++loc_.line;
            loc_.col = 1;
        } else {
            ++loc_.col;
        }
        ++pos_;
    }
    void skip_space() {
        while (pos_ < s_.size()) {
            char c = s_[pos_];
            if (c == '#') {
                while (pos_ < s_.size() && s_[pos_] != '\n') advance();
            } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                advance();
            } else {
                break;
            }
        }
    }
    Status read_string(std::string* out) {
        Loc start = loc_;
        advance();  // opening quote
        while (pos_ < s_.size() && s_[pos_] != '"') {
            char c = s_[pos_];
            if (c == '\n') break;
            if (c == '\\') {
                advance();
                if (pos_ >= s_.size()) break;
                char e = s_[pos_];
                switch (e) {
                    case 'n':
                        *out += '\n';
                        break;
                    case 't':
                        *out += '\t';
                        break;
                    case 'r':
                        *out += '\r';
                        break;
                    case '"':
                        *out += '"';
                        break;
                    case '\\':
                        *out += '\\';
                        break;
                    case 'x': {
                        auto hexval = [](char h) -> int {
                            if (h >= '0' && h <= '9') return h - '0';
                            if (h >= 'a' && h <= 'f') return h - 'a' + 10;
                            if (h >= 'A' && h <= 'F') return h - 'A' + 10;
                            return -1;
                        };
                        int hi = hexval(peek(1)), lo = hexval(peek(2));
                        if (hi < 0 || lo < 0) return invalid_argument(loc_str(loc_), ": bad \\x escape in string");
                        advance();
                        advance();
                        *out += static_cast<char>(hi * 16 + lo);
                        break;
                    }
                    default:
                        return invalid_argument(loc_str(loc_), ": unknown escape '\\", e, "' in string");
                }
                advance();
            } else {
                *out += c;
                advance();
            }
        }
        if (pos_ >= s_.size() || s_[pos_] != '"') return invalid_argument(loc_str(start), ": unterminated string");
        advance();
        return OkStatus();
    }

    std::string_view s_;
    size_t pos_ = 0;
    Loc loc_;
};

// ============================================================================================
// Parser
// ============================================================================================

struct TypeAst {
    DataType dtype = DataType::kUndefined;
    Shape shape;
};

struct OutAst {
    std::string name;
    Loc loc;
    std::optional<TypeAst> type;
};

struct InputRef {
    bool omitted = false;
    std::string name;
    Loc loc;
};

struct StmtAst {
    enum class Kind { kNode, kInit, kDangling } kind = Kind::kNode;
    Loc loc;
    std::vector<OutAst> outs;
    std::string op, domain;
    std::map<std::string, Attribute> attrs;
    std::vector<InputRef> inputs;
    std::string node_name;
    TypeAst type;    // init / dangling
    Tensor payload;  // init
};

struct HeaderInput {
    std::string name;
    Loc loc;
    std::optional<TypeAst> type;
};

class Parser {
  public:
    Parser(std::vector<Token> toks, const ParseOptions& o) : t_(std::move(toks)), o_(o) {}

    Result<std::unique_ptr<Graph>> run() {
        auto g = std::make_unique<Graph>();
        std::vector<OpsetImport> opsets;
        while (is_ident("opset")) {
            next();
            QAT_ASSIGN_OR_RETURN(std::string domain, name_token("an opset domain"));
            if (domain == "ai.onnx") domain.clear();
            const Token& v = cur();
            if (v.kind != Tok::kNumber || v.is_float) return expected("an opset version");
            int64_t ver = 0;
            QAT_RETURN_IF_ERROR(parse_int(v, &ver));
            next();
            opsets.push_back({domain, ver});
        }
        if (!opsets.empty()) g->info().opsets = opsets;

        if (!is_ident("graph")) return expected("'graph'");
        next();
        QAT_ASSIGN_OR_RETURN(g->info().graph_name, name_token("a graph name"));
        QAT_RETURN_IF_ERROR(expect("("));
        std::vector<HeaderInput> header;
        if (!is_punct(")")) {
            for (;;) {
                if (cur().kind != Tok::kValue) return expected("a graph input '%name'");
                HeaderInput h{cur().text, cur().loc, std::nullopt};
                next();
                if (is_punct(":")) {
                    next();
                    QAT_ASSIGN_OR_RETURN(TypeAst ty, parse_type());
                    h.type = ty;
                }
                header.push_back(std::move(h));
                if (is_punct(",")) {
                    next();
                    continue;
                }
                break;
            }
        }
        QAT_RETURN_IF_ERROR(expect(")"));
        QAT_RETURN_IF_ERROR(expect("->"));
        QAT_RETURN_IF_ERROR(expect("("));
        std::vector<std::pair<std::string, Loc>> outputs;
        if (!is_punct(")")) {
            for (;;) {
                if (cur().kind != Tok::kValue) return expected("a graph output '%name'");
                outputs.push_back({cur().text, cur().loc});
                next();
                if (is_punct(",")) {
                    next();
                    continue;
                }
                break;
            }
        }
        QAT_RETURN_IF_ERROR(expect(")"));
        QAT_RETURN_IF_ERROR(expect("{"));
        std::vector<StmtAst> stmts;
        while (!is_punct("}")) {
            if (cur().kind == Tok::kEnd) return expected("'}' closing the graph");
            QAT_ASSIGN_OR_RETURN(StmtAst s, parse_stmt());
            stmts.push_back(std::move(s));
        }
        next();
        if (cur().kind != Tok::kEnd) return expected("end of text after the graph");
        QAT_RETURN_IF_ERROR(build(*g, header, stmts, outputs));
        return g;
    }

  private:
    const Token& cur() const { return t_[i_]; }
    void next() {
        if (i_ + 1 < t_.size()) ++i_;
    }
    bool is_punct(const char* p) const { return cur().kind == Tok::kPunct && cur().text == p; }
    bool is_ident(const char* p) const { return cur().kind == Tok::kIdent && cur().text == p; }
    Status expected(const std::string& what) const {
        return invalid_argument(loc_str(cur().loc), ": expected ", what, ", got ", describe(cur()));
    }
    Status expect(const char* p) {
        if (!is_punct(p)) return expected(std::string("'") + p + "'");
        next();
        return OkStatus();
    }
    Result<std::string> name_token(const std::string& what) {
        if (cur().kind != Tok::kIdent && cur().kind != Tok::kString) return expected(what);
        std::string s = cur().text;
        next();
        return s;
    }

    static Status parse_int(const Token& t, int64_t* out) {
        const char* b = t.text.data();
        const char* e = b + t.text.size();
        if (*b == '+') ++b;
        auto r = std::from_chars(b, e, *out);
        if (r.ec != std::errc() || r.ptr != e)
            return invalid_argument(loc_str(t.loc), ": integer '", t.text, "' is out of range or malformed");
        return OkStatus();
    }
    static Status parse_double(const Token& t, double* out) {
        std::string s = t.text;
        if (!s.empty() && s[0] == '+') s.erase(0, 1);
        bool neg = !s.empty() && s[0] == '-';
        std::string body = neg ? s.substr(1) : s;
        if (body == "inf") {
            *out = neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
            return OkStatus();
        }
        if (body == "nan") {
            *out = std::numeric_limits<double>::quiet_NaN();
            return OkStatus();
        }
        auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
        if (r.ec != std::errc() || r.ptr != s.data() + s.size())
            return invalid_argument(loc_str(t.loc), ": number '", t.text, "' is malformed or out of range");
        return OkStatus();
    }
    static Status parse_float(const Token& t, float* out) {
        std::string s = t.text;
        if (!s.empty() && s[0] == '+') s.erase(0, 1);
        bool neg = !s.empty() && s[0] == '-';
        std::string body = neg ? s.substr(1) : s;
        if (body == "inf" || body == "nan") {
            double d = 0;
            QAT_RETURN_IF_ERROR(parse_double(t, &d));
            *out = static_cast<float>(d);
            return OkStatus();
        }
        // from_chars<float> rounds once, directly to float (no double rounding).
        auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
        if (r.ec == std::errc::result_out_of_range) {
            // Underflow to zero/denormal or overflow: fall back to the double value's cast.
            double d = 0;
            QAT_RETURN_IF_ERROR(parse_double(t, &d));
            *out = static_cast<float>(d);
            return OkStatus();
        }
        if (r.ec != std::errc() || r.ptr != s.data() + s.size())
            return invalid_argument(loc_str(t.loc), ": number '", t.text, "' is malformed");
        return OkStatus();
    }

    // A number token, or the identifiers inf / nan.
    bool at_number() const {
        return cur().kind == Tok::kNumber ||
               (cur().kind == Tok::kIdent && (cur().text == "inf" || cur().text == "nan"));
    }
    Token number_token() {
        Token t = cur();
        if (t.kind == Tok::kIdent) {
            t.kind = Tok::kNumber;
            t.is_float = true;
        }
        next();
        return t;
    }

    Result<TypeAst> parse_type() {
        TypeAst ty;
        if (is_punct("?")) {
            next();
        } else if (cur().kind == Tok::kIdent) {
            ty.dtype = dtype_from_name(cur().text);
            if (ty.dtype == DataType::kUndefined)
                return invalid_argument(loc_str(cur().loc), ": unknown dtype '", cur().text,
                                        "' (expected f32, f16, f64, i8, u8, i16, i32, i64, bool or ?)");
            next();
        } else {
            return expected("a dtype (f32, i8, ..., or ?)");
        }
        QAT_RETURN_IF_ERROR(expect("["));
        if (is_punct("*")) {
            next();
            QAT_RETURN_IF_ERROR(expect("]"));
            ty.shape = Shape::unknown_rank();
            return ty;
        }
        std::vector<Dim> dims;
        if (!is_punct("]")) {
            for (;;) {
                if (cur().kind == Tok::kNumber && !cur().is_float) {
                    int64_t v = 0;
                    QAT_RETURN_IF_ERROR(parse_int(cur(), &v));
                    if (v < 0) return invalid_argument(loc_str(cur().loc), ": negative dimension ", v);
                    dims.emplace_back(v);
                } else if (cur().kind == Tok::kIdent || cur().kind == Tok::kString) {
                    dims.push_back(Dim::symbolic(cur().text));
                } else if (is_punct("?")) {
                    dims.emplace_back();
                } else {
                    return expected("a dimension (integer, symbol or ?)");
                }
                next();
                if (is_punct(",")) {
                    next();
                    continue;
                }
                break;
            }
        }
        QAT_RETURN_IF_ERROR(expect("]"));
        ty.shape = Shape(std::move(dims));
        return ty;
    }

    // Fills a payload that the text omits (zeros, or a pattern seeded by `key`).
    Tensor fill_payload(DataType dt, const std::vector<int64_t>& dims, const std::string& key) const {
        Tensor t = Tensor::zeros(dt, dims);
        if (o_.fill == ParseOptions::Fill::kZeros) return t;
        std::mt19937_64 rng(o_.seed ^ fnv1a(key.data(), key.size()));
        for (int64_t i = 0; i < t.numel(); ++i) {
            uint64_t r = rng();
            double u = static_cast<double>(r >> 11) * (1.0 / 9007199254740992.0);  // [0, 1)
            double v;
            if (is_float(dt)) {
                v = 2.0 * u - 1.0;
            } else if (dt == DataType::kBool) {
                v = u < 0.5 ? 0 : 1;
            } else if (dt == DataType::kUint8) {
                v = std::floor(u * 16);
            } else {
                v = std::floor(u * 16) - 8;
            }
            if (dt == DataType::kFloat16)
                static_cast<uint16_t*>(t.raw_data())[i] = float_to_half(static_cast<float>(v));
            else
                t.set_from_double(i, v);
        }
        return t;
    }

    // `type [{payload}]` after init / tensor: a tensor of that type, payload read or filled.
    Result<Tensor> parse_tensor(const TypeAst& ty, Loc type_loc, const std::string& key) {
        if (ty.dtype == DataType::kUndefined)
            return invalid_argument(loc_str(type_loc), ": a tensor needs a known dtype");
        auto dims = ty.shape.static_dims();
        if (!dims)
            return invalid_argument(loc_str(type_loc), ": a tensor needs a static shape, got ", fmt_shape(ty.shape));
        if (!is_punct("{")) return fill_payload(ty.dtype, *dims, key);
        Loc open = cur().loc;
        next();
        std::vector<Token> vals;
        if (!is_punct("}")) {
            for (;;) {
                if (!at_number()) return expected("a number in the payload");
                vals.push_back(number_token());
                if (is_punct(",")) {
                    next();
                    continue;
                }
                break;
            }
        }
        QAT_RETURN_IF_ERROR(expect("}"));
        int64_t n = numel_of(*dims);
        if (static_cast<int64_t>(vals.size()) != n)
            return invalid_argument(loc_str(open), ": payload has ", vals.size(), " values, the type ",
                                    fmt_type(ty.dtype, ty.shape), " needs ", n);
        Tensor t = Tensor::zeros(ty.dtype, *dims);
        for (int64_t i = 0; i < n; ++i) {
            const Token& v = vals[i];
            switch (ty.dtype) {
                case DataType::kFloat32:
                    QAT_RETURN_IF_ERROR(parse_float(v, &t.data<float>()[i]));
                    break;
                case DataType::kFloat64:
                    QAT_RETURN_IF_ERROR(parse_double(v, &t.data<double>()[i]));
                    break;
                case DataType::kFloat16: {
                    float f = 0;
                    QAT_RETURN_IF_ERROR(parse_float(v, &f));
                    static_cast<uint16_t*>(t.raw_data())[i] = float_to_half(f);
                    break;
                }
                default: {
                    if (v.is_float)
                        return invalid_argument(loc_str(v.loc), ": ", dtype_name(ty.dtype),
                                                " payload needs integers, got '", v.text, "'");
                    int64_t x = 0;
                    QAT_RETURN_IF_ERROR(parse_int(v, &x));
                    int64_t lo = std::numeric_limits<int64_t>::min(), hi = std::numeric_limits<int64_t>::max();
                    switch (ty.dtype) {
                        case DataType::kInt8:
                            lo = -128, hi = 127;
                            break;
                        case DataType::kUint8:
                            lo = 0, hi = 255;
                            break;
                        case DataType::kInt16:
                            lo = -32768, hi = 32767;
                            break;
                        case DataType::kInt32:
                            lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
                            break;
                        case DataType::kBool:
                            lo = 0, hi = 1;
                            break;
                        default:
                            break;
                    }
                    if (x < lo || x > hi)
                        return invalid_argument(loc_str(v.loc), ": value ", x, " is out of range for ",
                                                dtype_name(ty.dtype));
                    if (ty.dtype == DataType::kInt64)
                        t.data<int64_t>()[i] = x;
                    else
                        t.set_from_double(i, static_cast<double>(x));
                }
            }
        }
        return t;
    }

    Result<Attribute> parse_attr_value(const std::string& key) {
        Loc at = cur().loc;
        if (at_number()) {
            Token t = number_token();
            if (t.is_float) {
                float f = 0;
                QAT_RETURN_IF_ERROR(parse_float(t, &f));
                return Attribute::from_float(f);
            }
            int64_t i = 0;
            QAT_RETURN_IF_ERROR(parse_int(t, &i));
            return Attribute::from_int(i);
        }
        if (cur().kind == Tok::kString) {
            std::string s = cur().text;
            next();
            return Attribute::from_string(std::move(s));
        }
        // Typed lists: ints[...], floats[...], strings[...] (needed for empty lists).
        std::string typed;
        if (cur().kind == Tok::kIdent && (cur().text == "ints" || cur().text == "floats" || cur().text == "strings")) {
            typed = cur().text;
            next();
            if (!is_punct("[")) return expected("'[' after '" + typed + "'");
        }
        if (is_punct("[")) {
            next();
            std::vector<Token> nums;
            std::vector<std::string> strs;
            if (!is_punct("]")) {
                for (;;) {
                    if (at_number()) {
                        nums.push_back(number_token());
                    } else if (cur().kind == Tok::kString) {
                        strs.push_back(cur().text);
                        next();
                    } else {
                        return expected("a list element (number or string)");
                    }
                    if (is_punct(",")) {
                        next();
                        continue;
                    }
                    break;
                }
            }
            QAT_RETURN_IF_ERROR(expect("]"));
            if (!nums.empty() && !strs.empty())
                return invalid_argument(loc_str(at), ": list mixes numbers and strings");
            bool any_float = false;
            for (const auto& n : nums) any_float |= n.is_float;
            if (typed.empty()) {
                if (nums.empty() && strs.empty())
                    return invalid_argument(loc_str(at),
                                            ": an empty list needs its kind: ints[], floats[] or strings[]");
                typed = !strs.empty() ? "strings" : any_float ? "floats" : "ints";
            }
            if (typed == "strings") {
                if (!nums.empty()) return invalid_argument(loc_str(at), ": strings[] holds only strings");
                return Attribute::from_strings(std::move(strs));
            }
            if (!strs.empty()) return invalid_argument(loc_str(at), ": ", typed, "[] holds only numbers");
            if (typed == "ints") {
                if (any_float) return invalid_argument(loc_str(at), ": ints[] holds only integers");
                std::vector<int64_t> v(nums.size());
                for (size_t k = 0; k < nums.size(); ++k) QAT_RETURN_IF_ERROR(parse_int(nums[k], &v[k]));
                return Attribute::from_ints(std::move(v));
            }
            std::vector<float> v(nums.size());
            for (size_t k = 0; k < nums.size(); ++k) QAT_RETURN_IF_ERROR(parse_float(nums[k], &v[k]));
            return Attribute::from_floats(std::move(v));
        }
        if (is_ident("tensor")) {
            next();
            Loc tl = cur().loc;
            QAT_ASSIGN_OR_RETURN(TypeAst ty, parse_type());
            QAT_ASSIGN_OR_RETURN(Tensor t, parse_tensor(ty, tl, key));
            return Attribute::from_tensor(std::move(t));
        }
        if (is_ident("opaque")) {
            next();
            if (cur().kind != Tok::kString) return expected("a hex string after 'opaque'");
            const std::string& hex = cur().text;
            if (hex.size() % 2) return invalid_argument(loc_str(cur().loc), ": opaque hex string has odd length");
            std::string bytes;
            for (size_t k = 0; k < hex.size(); k += 2) {
                auto hv = [](char h) -> int {
                    if (h >= '0' && h <= '9') return h - '0';
                    if (h >= 'a' && h <= 'f') return h - 'a' + 10;
                    if (h >= 'A' && h <= 'F') return h - 'A' + 10;
                    return -1;
                };
                int hi = hv(hex[k]), lo = hv(hex[k + 1]);
                if (hi < 0 || lo < 0) return invalid_argument(loc_str(cur().loc), ": opaque string is not hex");
                bytes += static_cast<char>(hi * 16 + lo);
            }
            next();
            return Attribute::opaque(std::move(bytes));
        }
        return expected("an attribute value");
    }

    Result<StmtAst> parse_stmt() {
        StmtAst s;
        s.loc = cur().loc;
        if (cur().kind == Tok::kValue) {
            for (;;) {
                if (cur().kind != Tok::kValue) return expected("an output '%name'");
                OutAst o{cur().text, cur().loc, std::nullopt};
                next();
                if (is_punct(":")) {
                    next();
                    QAT_ASSIGN_OR_RETURN(TypeAst ty, parse_type());
                    o.type = ty;
                }
                s.outs.push_back(std::move(o));
                if (is_punct(",")) {
                    next();
                    continue;
                }
                break;
            }
            QAT_RETURN_IF_ERROR(expect("="));
            if (is_ident("init") || is_ident("dangling")) {
                bool init = cur().text == "init";
                Loc kw = cur().loc;
                next();
                if (s.outs.size() != 1)
                    return invalid_argument(loc_str(kw), ": '", init ? "init" : "dangling",
                                            "' defines exactly one value");
                if (s.outs[0].type)
                    return invalid_argument(loc_str(s.outs[0].loc), ": write the type after '",
                                            init ? "init" : "dangling", "', not after the name");
                Loc tl = cur().loc;
                QAT_ASSIGN_OR_RETURN(s.type, parse_type());
                if (init) {
                    s.kind = StmtAst::Kind::kInit;
                    QAT_ASSIGN_OR_RETURN(s.payload, parse_tensor(s.type, tl, s.outs[0].name));
                } else {
                    s.kind = StmtAst::Kind::kDangling;
                }
                return s;
            }
        }
        // [domain::]Op
        if (cur().kind != Tok::kIdent && cur().kind != Tok::kString) return expected("an op type");
        s.op = cur().text;
        next();
        if (is_punct("::")) {
            next();
            if (cur().kind != Tok::kIdent && cur().kind != Tok::kString) return expected("an op type after '::'");
            s.domain = s.op == "ai.onnx" ? "ai.onnx" : s.op;
            s.op = cur().text;
            next();
        }
        if (is_punct("[")) {
            next();
            if (!is_punct("]")) {
                for (;;) {
                    if (cur().kind != Tok::kIdent && cur().kind != Tok::kString) return expected("an attribute name");
                    std::string name = cur().text;
                    Loc nl = cur().loc;
                    next();
                    QAT_RETURN_IF_ERROR(expect("="));
                    std::string key = (s.outs.empty() ? s.op : s.outs[0].name) + "." + name;
                    QAT_ASSIGN_OR_RETURN(Attribute a, parse_attr_value(key));
                    if (s.attrs.count(name))
                        return invalid_argument(loc_str(nl), ": attribute '", name, "' given twice");
                    s.attrs[name] = std::move(a);
                    if (is_punct(",")) {
                        next();
                        continue;
                    }
                    break;
                }
            }
            QAT_RETURN_IF_ERROR(expect("]"));
        }
        QAT_RETURN_IF_ERROR(expect("("));
        if (!is_punct(")")) {
            for (;;) {
                if (cur().kind == Tok::kValue) {
                    s.inputs.push_back({false, cur().text, cur().loc});
                } else if (is_ident("_")) {
                    s.inputs.push_back({true, "", cur().loc});
                } else {
                    return expected("an input '%name' or '_'");
                }
                next();
                if (is_punct(",")) {
                    next();
                    continue;
                }
                break;
            }
        }
        QAT_RETURN_IF_ERROR(expect(")"));
        if (cur().kind == Tok::kNodeName) {
            s.node_name = cur().text;
            next();
        }
        return s;
    }

    Status build(Graph& g, const std::vector<HeaderInput>& header, const std::vector<StmtAst>& stmts,
                 const std::vector<std::pair<std::string, Loc>>& outputs) {
        std::unordered_map<std::string, Loc> defined;
        std::unordered_map<std::string, const StmtAst*> init_of;
        auto define = [&](const std::string& name, Loc l) -> Status {
            auto it = defined.find(name);
            if (it != defined.end())
                return invalid_argument(loc_str(l), ": value %", text_form_name(name), " is defined twice (first at ",
                                        loc_str(it->second), ")");
            defined.emplace(name, l);
            return OkStatus();
        };
        for (const auto& s : stmts)
            if (s.kind == StmtAst::Kind::kInit) init_of[s.outs[0].name] = &s;

        // Graph inputs in header order; one with an `init` line is an input with a default.
        std::unordered_set<std::string> header_names;
        for (const auto& h : header) {
            QAT_RETURN_IF_ERROR(define(h.name, h.loc));
            header_names.insert(h.name);
            auto it = init_of.find(h.name);
            if (it != init_of.end()) {
                const StmtAst& s = *it->second;
                if (h.type && (h.type->dtype != s.type.dtype || h.type->shape != s.type.shape))
                    return invalid_argument(loc_str(s.loc), ": initializer %", text_form_name(h.name), " has type ",
                                            fmt_type(s.type.dtype, s.type.shape), " but the graph input says ",
                                            fmt_type(h.type->dtype, h.type->shape));
                Value* v = g.add_initializer(h.name, s.payload);
                g.mark_input(v);
            } else {
                g.add_input(h.name, h.type ? h.type->dtype : DataType::kUndefined,
                            h.type ? h.type->shape : Shape::unknown_rank());
            }
        }
        // Every other definition, so that references may point forward.
        for (const auto& s : stmts) {
            if (s.kind == StmtAst::Kind::kInit && header_names.count(s.outs[0].name)) continue;
            for (const auto& o : s.outs) QAT_RETURN_IF_ERROR(define(o.name, o.loc));
            if (s.kind == StmtAst::Kind::kInit) {
                g.add_initializer(s.outs[0].name, s.payload);
            } else if (s.kind == StmtAst::Kind::kDangling) {
                g.add_value(s.outs[0].name, s.type.dtype, s.type.shape);
            } else {
                for (const auto& o : s.outs)
                    g.add_value(o.name, o.type ? o.type->dtype : DataType::kUndefined,
                                o.type ? o.type->shape : Shape::unknown_rank());
            }
        }
        auto lookup = [&](const std::string& name, Loc l) -> Result<Value*> {
            Value* v = g.find_value(name);
            if (!v) return invalid_argument(loc_str(l), ": value %", text_form_name(name), " is not defined");
            return v;
        };
        for (const auto& s : stmts) {
            if (s.kind != StmtAst::Kind::kNode) continue;
            std::vector<Value*> ins, outs;
            for (const auto& r : s.inputs) {
                if (r.omitted) {
                    ins.push_back(nullptr);
                    continue;
                }
                QAT_ASSIGN_OR_RETURN(Value * v, lookup(r.name, r.loc));
                ins.push_back(v);
            }
            for (const auto& o : s.outs) outs.push_back(g.find_value(o.name));
            Node* n = g.add_node_with_outputs(s.op, ins, outs, s.node_name, s.domain);
            for (const auto& [k, a] : s.attrs) n->set_attr(k, a);
            if (s.op == "Constant" && (s.domain.empty() || s.domain == "ai.onnx") && outs.size() == 1)
                set_constant_payload(*n, outs[0]);
        }
        for (const auto& [name, l] : outputs) {
            QAT_ASSIGN_OR_RETURN(Value * v, lookup(name, l));
            g.add_output(v);
        }
        return OkStatus();
    }

    // A Constant node's output carries its payload (as the importer does), so passes see a weight.
    static void set_constant_payload(const Node& n, Value* out) {
        if (const Attribute* a = n.attr("value"); a && a->kind == Attribute::Kind::kTensor && a->t.defined()) {
            out->set_constant(a->t);
        } else if (const Attribute* f = n.attr("value_float"); f && f->kind == Attribute::Kind::kFloat) {
            out->set_constant(Tensor::scalar<float>(f->f));
        } else if (const Attribute* fs = n.attr("value_floats"); fs && fs->kind == Attribute::Kind::kFloats) {
            out->set_constant(Tensor::from_vector<float>({static_cast<int64_t>(fs->floats.size())}, fs->floats));
        } else if (const Attribute* i = n.attr("value_int"); i && i->kind == Attribute::Kind::kInt) {
            out->set_constant(Tensor::scalar<int64_t>(i->i));
        } else if (const Attribute* is = n.attr("value_ints"); is && is->kind == Attribute::Kind::kInts) {
            out->set_constant(Tensor::from_vector<int64_t>({static_cast<int64_t>(is->ints.size())}, is->ints));
        }
    }

    std::vector<Token> t_;
    size_t i_ = 0;
    const ParseOptions& o_;
};

}  // namespace

std::string text_form_name(const std::string& name) {
    if (name.empty() || name == "_") return quote(name);
    for (char c : name)
        if (!is_bare_char(c)) return quote(name);
    return name;
}

std::string print_graph(const Graph& g, const PrintOptions& options) { return Printer(g, options).run(); }

Result<std::unique_ptr<Graph>> parse_graph(std::string_view text, const ParseOptions& options) {
    std::vector<Token> toks;
    QAT_RETURN_IF_ERROR(Lexer(text).tokenize(&toks));
    return Parser(std::move(toks), options).run();
}

bool same_structure(const Graph& a, const Graph& b, std::string* diff, const CompareOptions& options) {
    PrintOptions po;
    po.types = options.types;
    po.node_names = options.names;
    po.canonical_names = !options.names;
    po.max_inline_elements = options.payloads ? 16 : 0;
    po.payload_digest = options.payloads;
    po.always_print_opsets = true;
    std::string ta = print_graph(a, po), tb = print_graph(b, po);
    if (ta == tb) return true;
    if (diff) {
        std::istringstream sa(ta), sb(tb);
        std::string la, lb;
        for (int line = 1;; ++line) {
            bool ha = static_cast<bool>(std::getline(sa, la));
            bool hb = static_cast<bool>(std::getline(sb, lb));
            if (!ha) la = "<end>";
            if (!hb) lb = "<end>";
            if (la != lb || (!ha && !hb)) {
                *diff = "graphs differ at line " + std::to_string(line) + " of their canonical print:\n  a: " + la +
                        "\n  b: " + lb + "\n--- a ---\n" + ta + "--- b ---\n" + tb;
                break;
            }
        }
    }
    return false;
}

}  // namespace qat::ir
