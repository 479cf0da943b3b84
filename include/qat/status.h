// qat public API: errors. Every function of the public API reports failure through a Status (or
// a Result<T> that holds either a value or a non-OK Status); no exception leaves the library.
// The message is one line that names the file, node, input or option at fault, the way the
// `qat` command prints it.
//
//   qat::api::Result<qat::api::Model> m = qat::api::Model::load("model.onnx");
//   if (!m.ok()) {
//       std::fprintf(stderr, "%s\n", m.status().message().c_str());
//       return 2;
//   }
//   qat::api::Model model = std::move(m).value();
//
// The public API lives in namespace qat::api (the toolkit's internal types use qat::).
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace qat::api {

enum class StatusCode {
    kOk = 0,
    kInvalidArgument,     // a bad option, shape or argument
    kInvalidModel,        // the model itself is malformed
    kNotFound,            // a missing file, input or tensor
    kUnsupported,         // valid, but beyond what qat implements
    kIoError,             // a read or write failed
    kOutOfRange,          // an index or value outside its range
    kFailedPrecondition,  // asked at the wrong time (e.g. building an uncalibrated model)
    kCancelled,
    kInternal,
};

// "invalid argument", "not found", ...
const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
  public:
    Status() = default;
    Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

    bool ok() const { return code_ == StatusCode::kOk; }
    StatusCode code() const { return code_; }
    // One line; empty when ok().
    const std::string& message() const { return message_; }
    // "OK" or "<code name>: <message>".
    std::string to_string() const;

  private:
    StatusCode code_ = StatusCode::kOk;
    std::string message_;
};

// A value or the Status that explains why there is none. Accessing the value of a failed Result
// is a programming error (it aborts with the status message).
template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
    // A Result built from an OK Status carries no value: it becomes an internal error.
    Result(Status status)  // NOLINT: implicit by design
        : status_(status.ok() ? Status(StatusCode::kInternal, "Result built from an OK status") : std::move(status)) {}

    bool ok() const { return value_.has_value(); }
    const Status& status() const { return status_; }

    T& value() & {
        check();
        return *value_;
    }
    const T& value() const& {
        check();
        return *value_;
    }
    T&& value() && {
        check();
        return std::move(*value_);
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

  private:
    void check() const {
        if (!value_) detail_result_abort(status_);
    }
    [[noreturn]] static void detail_result_abort(const Status& s);

    std::optional<T> value_;
    Status status_;
};

namespace detail {
[[noreturn]] void abort_on_bad_result(const Status& s);
}  // namespace detail

template <typename T>
void Result<T>::detail_result_abort(const Status& s) {
    detail::abort_on_bad_result(s);
}

}  // namespace qat::api
