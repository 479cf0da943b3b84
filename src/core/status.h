// Status and Result<T>: how every expected failure travels through qat.
//
// No exception leaves a qat library. A function that can fail on user or model input returns
// Status (or Result<T> when it also produces a value). Context is added as the error crosses
// layers, so the final message reads like a short stack:
//
//   Status s = import_node(n);
//   if (!s.ok()) return s.with_context("while importing node " + n.name());
//   ...
//   QAT_ASSIGN_OR_RETURN(auto graph, onnx::load_model(path));
//   QAT_CHECK(dims.size() == 4, "Conv input must be 4-D, got ", dims.size(), "-D");
#pragma once

#include <cassert>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace qat {

enum class StatusCode {
    kOk = 0,
    kInvalidArgument,     // bad user input: flag, spec, data file
    kInvalidModel,        // the model itself is malformed (dangling input, cycle, bad attribute)
    kNotFound,            // file, node, tensor or key missing
    kUnsupported,         // valid but beyond what we implement (op, opset, dtype)
    kIoError,             // read/write failure
    kOutOfRange,          // index or value outside its range
    kFailedPrecondition,  // an operation asked at the wrong time (e.g. uncalibrated model)
    kCancelled,           // interrupted by the user (SIGINT)
    kInternal,            // a bug of ours
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
public:
    Status() = default;
    Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

    static Status ok_status() { return {}; }

    bool ok() const { return code_ == StatusCode::kOk; }
    StatusCode code() const { return code_; }
    const std::string& message() const { return message_; }
    const std::vector<std::string>& context() const { return context_; }

    // Adds one line of context ("while importing node Conv_12"); innermost first.
    Status& with_context(std::string ctx) & {
        if (!ok()) context_.push_back(std::move(ctx));
        return *this;
    }
    Status&& with_context(std::string ctx) && {
        if (!ok()) context_.push_back(std::move(ctx));
        return std::move(*this);
    }

    // "message (while X; while Y)" on one line: what the CLI prints.
    std::string to_string() const;

    // Marks a Status as deliberately ignored.
    void ignore() const {}

private:
    StatusCode code_ = StatusCode::kOk;
    std::string message_;
    std::vector<std::string> context_;
};

inline Status OkStatus() { return {}; }

namespace detail {
template <typename... Args>
std::string str_cat(Args&&... args) {
    std::ostringstream os;
    (os << ... << std::forward<Args>(args));
    return os.str();
}
}  // namespace detail

template <typename... Args>
Status make_status(StatusCode code, Args&&... args) {
    return Status(code, detail::str_cat(std::forward<Args>(args)...));
}
template <typename... Args>
Status invalid_argument(Args&&... args) {
    return make_status(StatusCode::kInvalidArgument, std::forward<Args>(args)...);
}
template <typename... Args>
Status invalid_model(Args&&... args) {
    return make_status(StatusCode::kInvalidModel, std::forward<Args>(args)...);
}
template <typename... Args>
Status not_found(Args&&... args) {
    return make_status(StatusCode::kNotFound, std::forward<Args>(args)...);
}
template <typename... Args>
Status unsupported(Args&&... args) {
    return make_status(StatusCode::kUnsupported, std::forward<Args>(args)...);
}
template <typename... Args>
Status io_error(Args&&... args) {
    return make_status(StatusCode::kIoError, std::forward<Args>(args)...);
}
template <typename... Args>
Status out_of_range(Args&&... args) {
    return make_status(StatusCode::kOutOfRange, std::forward<Args>(args)...);
}
template <typename... Args>
Status failed_precondition(Args&&... args) {
    return make_status(StatusCode::kFailedPrecondition, std::forward<Args>(args)...);
}
template <typename... Args>
Status internal_error(Args&&... args) {
    return make_status(StatusCode::kInternal, std::forward<Args>(args)...);
}

// Result<T>: a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
    Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
        assert(!std::get<Status>(v_).ok() && "Result built from an OK Status carries no value");
    }

    bool ok() const { return std::holds_alternative<T>(v_); }
    const Status& status() const {
        static const Status kOk;
        return ok() ? kOk : std::get<Status>(v_);
    }
    Status take_status() && { return ok() ? Status() : std::move(std::get<Status>(v_)); }

    T& value() & { return std::get<T>(v_); }
    const T& value() const& { return std::get<T>(v_); }
    T&& value() && { return std::get<T>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

    Result&& with_context(std::string ctx) && {
        if (!ok()) std::get<Status>(v_).with_context(std::move(ctx));
        return std::move(*this);
    }

private:
    std::variant<T, Status> v_;
};

}  // namespace qat

// Internal invariant: aborts with a message (never for user input).
#define QAT_ASSERT(cond, ...)                                                                   \
    do {                                                                                        \
        if (!(cond)) ::qat::detail_assert_fail(#cond, __FILE__, __LINE__, ::qat::detail::str_cat("" __VA_ARGS__)); \
    } while (0)

// User or model input check inside a function that returns Status or Result<T>.
#define QAT_CHECK(cond, ...)                                                        \
    do {                                                                            \
        if (!(cond)) return ::qat::invalid_argument(__VA_ARGS__);                    \
    } while (0)

#define QAT_RETURN_IF_ERROR(expr)                  \
    do {                                           \
        ::qat::Status qat_status_ = (expr);        \
        if (!qat_status_.ok()) return qat_status_; \
    } while (0)

#define QAT_CONCAT_INNER_(a, b) a##b
#define QAT_CONCAT_(a, b) QAT_CONCAT_INNER_(a, b)
#define QAT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)        \
    auto tmp = (expr);                                    \
    if (!tmp.ok()) return std::move(tmp).take_status();   \
    lhs = std::move(tmp).value()
// QAT_ASSIGN_OR_RETURN(auto x, f()); declares x from a Result or returns its Status.
#define QAT_ASSIGN_OR_RETURN(lhs, expr) QAT_ASSIGN_OR_RETURN_IMPL_(QAT_CONCAT_(qat_result_, __LINE__), lhs, expr)

namespace qat {
[[noreturn]] void detail_assert_fail(const char* cond, const char* file, int line, const std::string& msg);
}
