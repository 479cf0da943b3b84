// Logging with a settable sink, and the QAT_VERBOSE switches.
//
//   QAT_LOG(kInfo) << "folded " << n << " BatchNormalization nodes";
//   QAT_VLOG("dispatch") << "onednn declined " << node << ": " << reason;
//
// The level comes from QAT_LOG_LEVEL (debug|info|warning|error, default warning) unless set in
// code; QAT_VERBOSE is a comma list of topics (dispatch, plan, passes, all).
#pragma once

#include <functional>
#include <sstream>
#include <string>
#include <string_view>

namespace qat {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

using LogSink = std::function<void(LogLevel, const std::string&)>;

// Replaces the sink (default: stderr with a "qat: warning: " prefix). Returns the old one.
LogSink set_log_sink(LogSink sink);
void set_log_level(LogLevel level);
LogLevel log_level();
bool log_enabled(LogLevel level);

// True when `topic` (or "all") is in QAT_VERBOSE, or was enabled with set_verbose.
bool verbose(std::string_view topic);
void set_verbose(std::string_view topics);

namespace detail {
class LogLine {
public:
    explicit LogLine(LogLevel level) : level_(level) {}
    ~LogLine();
    template <typename T>
    LogLine& operator<<(const T& v) {
        os_ << v;
        return *this;
    }

private:
    LogLevel level_;
    std::ostringstream os_;
};
}  // namespace detail

}  // namespace qat

// Logs at info level when `topic` is enabled in QAT_VERBOSE, whatever the log level.
#define QAT_VLOG(topic)                                     \
    if (!::qat::verbose(topic)) {                           \
    } else                                                  \
        ::qat::detail::LogLine(::qat::LogLevel::kInfo)

#define QAT_LOG(level)                                      \
    if (!::qat::log_enabled(::qat::LogLevel::level)) {      \
    } else                                                  \
        ::qat::detail::LogLine(::qat::LogLevel::level)
