#include "core/logging.h"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>

namespace qat {
namespace {

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::kDebug: return "debug";
        case LogLevel::kInfo: return "info";
        case LogLevel::kWarning: return "warning";
        case LogLevel::kError: return "error";
        case LogLevel::kOff: return "off";
    }
    return "?";
}

LogLevel level_from_env() {
    const char* env = std::getenv("QAT_LOG_LEVEL");
    if (!env) return LogLevel::kWarning;
    std::string v = env;
    if (v == "debug") return LogLevel::kDebug;
    if (v == "info") return LogLevel::kInfo;
    if (v == "error") return LogLevel::kError;
    if (v == "off") return LogLevel::kOff;
    return LogLevel::kWarning;
}

struct LogState {
    std::mutex mu;
    LogLevel level = level_from_env();
    LogSink sink = [](LogLevel level, const std::string& msg) {
        std::fprintf(stderr, "qat: %s: %s\n", level_name(level), msg.c_str());
    };
    std::set<std::string, std::less<>> verbose_topics;
    LogState() {
        if (const char* env = std::getenv("QAT_VERBOSE")) add_topics(env);
    }
    void add_topics(std::string_view topics) {
        size_t start = 0;
        while (start <= topics.size()) {
            size_t end = topics.find(',', start);
            if (end == std::string_view::npos) end = topics.size();
            if (end > start) verbose_topics.emplace(topics.substr(start, end - start));
            start = end + 1;
        }
    }
};

LogState& state() {
    static LogState s;
    return s;
}

}  // namespace

LogSink set_log_sink(LogSink sink) {
    std::lock_guard<std::mutex> lock(state().mu);
    LogSink old = std::move(state().sink);
    state().sink = std::move(sink);
    return old;
}

void set_log_level(LogLevel level) { state().level = level; }
LogLevel log_level() { return state().level; }
bool log_enabled(LogLevel level) { return level >= state().level && level != LogLevel::kOff; }

bool verbose(std::string_view topic) {
    const auto& t = state().verbose_topics;
    if (t.empty()) return false;
    return t.count(topic) > 0 || t.count(std::string_view("all")) > 0;
}

void set_verbose(std::string_view topics) {
    std::lock_guard<std::mutex> lock(state().mu);
    state().verbose_topics.clear();
    state().add_topics(topics);
}

namespace detail {
LogLine::~LogLine() {
    // Verbose lines are explicitly asked for, so they pass whatever the level.
    std::lock_guard<std::mutex> lock(state().mu);
    if (state().sink) state().sink(level_, os_.str());
}
}  // namespace detail

}  // namespace qat
