#include "core/status.h"

#include <cstdio>
#include <cstdlib>

namespace qat {

const char* status_code_name(StatusCode code) {
    switch (code) {
        case StatusCode::kOk: return "OK";
        case StatusCode::kInvalidArgument: return "invalid argument";
        case StatusCode::kInvalidModel: return "invalid model";
        case StatusCode::kNotFound: return "not found";
        case StatusCode::kUnsupported: return "unsupported";
        case StatusCode::kIoError: return "I/O error";
        case StatusCode::kOutOfRange: return "out of range";
        case StatusCode::kFailedPrecondition: return "failed precondition";
        case StatusCode::kCancelled: return "cancelled";
        case StatusCode::kInternal: return "internal error";
    }
    return "unknown";
}

std::string Status::to_string() const {
    if (ok()) return "OK";
    std::string s = message_;
    if (!context_.empty()) {
        s += " (";
        for (size_t i = 0; i < context_.size(); ++i) {
            if (i) s += "; ";
            s += context_[i];
        }
        s += ")";
    }
    return s;
}

void detail_assert_fail(const char* cond, const char* file, int line, const std::string& msg) {
    std::fprintf(stderr, "qat: internal error: assertion '%s' failed at %s:%d%s%s\n", cond, file, line,
                 msg.empty() ? "" : ": ", msg.c_str());
    std::abort();
}

}  // namespace qat
