// Names of the engine's build-time choices (the FP32 layout, the steps on one thread, the steps
// one image at a time): each choice's enum has a name function; this parses a name back against
// the values a caller accepts, with one error form that lists exactly those values.
#pragma once

#include <initializer_list>
#include <string>

#include "core/status.h"

namespace qat::engine {

// The value of `values` whose name(v) is `s`; otherwise "<what>'<s>' is not one of a, b, c" with
// the names of `values` (`what`: e.g. "step threads ", or "" for a bare value).
template <class E>
Result<E> parse_choice_name(const std::string& s, std::initializer_list<E> values, const char* (*name)(E),
                            const char* what) {
    std::string names;
    for (E v : values) {
        if (s == name(v)) return v;
        names += (names.empty() ? "" : ", ") + std::string(name(v));
    }
    return invalid_argument(what, "'", s, "' is not one of ", names);
}

}  // namespace qat::engine
