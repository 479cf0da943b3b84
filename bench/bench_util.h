// Small helpers the benchmark programs share: a fatal error, and the machine and
// time a result was measured on (docs/BENCHMARKS.md records both with every table).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

namespace qat::bench {

// "<tool>: error: <msg>" on stderr, exit code 2 (the CLI's convention for bad input).
[[noreturn]] inline void fail(const char* tool, const std::string& msg) {
    std::fprintf(stderr, "%s: error: %s\n", tool, msg.c_str());
    std::exit(2);
}

// The CPU's model name from /proc/cpuinfo.
inline std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown";
}

// "2026-11-26 14:51 UTC".
inline std::string utc_now() {
    std::time_t t = std::time(nullptr);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
    return buf;
}

}  // namespace qat::bench
