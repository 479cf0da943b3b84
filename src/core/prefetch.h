// Cache hints for state a step reads a little later (runtime::Kernel::prefetch_run, Plan::run):
// asks for the line at each address without waiting for it. A prefetch never faults, so a null or
// stale address costs nothing but the instruction.
#pragma once

#include <initializer_list>

namespace qat {

inline void prefetch_lines(std::initializer_list<const void*> addresses) {
    for (const void* p : addresses) __builtin_prefetch(p, 0, 3);
}

}  // namespace qat
