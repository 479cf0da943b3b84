#include "core/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace qat {
namespace {

int terminal_width() {
    winsize ws{};
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 100;
}

std::string fixed(double v, int precision) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", precision, v);
    return buf;
}

}  // namespace

ProgressBar::ProgressBar(std::string label, int64_t total, ProgressOptions options)
    : label_(std::move(label)), total_(total), opt_(std::move(options)) {
    enabled_ = !opt_.quiet && opt_.enabled.value_or(isatty(STDERR_FILENO) == 1);
    if (!opt_.clock)
        opt_.clock = [] {
            using namespace std::chrono;
            return duration<double>(steady_clock::now().time_since_epoch()).count();
        };
    if (!opt_.write)
        opt_.write = [](const std::string& s) {
            std::fputs(s.c_str(), stderr);
            std::fflush(stderr);
        };
    if (enabled_ && opt_.width <= 0) opt_.width = terminal_width();
    if (opt_.width <= 0) opt_.width = 100;
    start_ = opt_.clock();
}

ProgressBar::~ProgressBar() { finish(); }

double ProgressBar::now() const { return opt_.clock(); }

void ProgressBar::set_total(int64_t total) {
    std::lock_guard<std::mutex> lock(mu_);
    total_ = total;
}

void ProgressBar::update(int64_t done) {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = done;
    maybe_draw(false);
}

void ProgressBar::advance(int64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    done_ += n;
    maybe_draw(false);
}

void ProgressBar::set_field(const std::string& name, const std::string& value) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& f : fields_)
        if (f.first == name) {
            f.second = value;
            return;
        }
    fields_.emplace_back(name, value);
}

void ProgressBar::set_field(const std::string& name, double value, int precision) {
    set_field(name, fixed(value, precision));
}

void ProgressBar::finish() {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
    if (!enabled_) return;
    maybe_draw(true);
    opt_.write("\n");
}

void ProgressBar::maybe_draw(bool force) {
    if (!enabled_ || (finished_ && !force)) return;
    const double t = now();
    // The throttle keeps a tight loop from spending its time on terminal output; reaching the
    // total always draws so that the last state on screen is the final one.
    const bool complete = total_ > 0 && done_ >= total_;
    if (!force && !complete && t - last_draw_ < opt_.min_interval_s) return;
    last_draw_ = t;
    // \r back to column 0, ESC[K clears what a longer previous line left behind.
    opt_.write("\r" + render(t) + "\x1b[K");
}

std::string ProgressBar::format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    auto s = static_cast<int64_t>(std::llround(seconds));
    char buf[48];
    if (s >= 3600)
        std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                      static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
    else
        std::snprintf(buf, sizeof(buf), "%lld:%02lld", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
    return buf;
}

std::string ProgressBar::format_count(double v) {
    if (!std::isfinite(v) || v < 0) return "?";
    const char* suffix[] = {"", "k", "M", "G", "T"};
    int k = 0;
    while (v >= 999.5 && k < 4) {
        v /= 1000.0;
        ++k;
    }
    if (k == 0) return v >= 99.95 || v == std::floor(v) ? fixed(v, 0) : fixed(v, v >= 9.995 ? 1 : 2);
    return fixed(v, v >= 99.95 ? 0 : v >= 9.995 ? 1 : 2) + suffix[k];
}

double ProgressBar::eta_seconds(int64_t done, int64_t total, double rate) {
    if (total <= 0 || rate <= 0 || !std::isfinite(rate)) return -1;
    if (done >= total) return 0;
    return static_cast<double>(total - done) / rate;
}

std::string ProgressBar::render(double now) const {
    const double elapsed = std::max(0.0, now - start_);
    const double rate = elapsed > 0 ? static_cast<double>(done_) / elapsed : 0.0;
    const bool known = total_ > 0;
    const bool complete = known && done_ >= total_;

    // Right part first, so the bar gets whatever width is left.
    std::string right = "  ";
    if (known)
        right += std::to_string(done_) + "/" + std::to_string(total_);
    else
        right += std::to_string(done_) + " " + opt_.unit;
    right += "  " + (elapsed > 0 ? format_count(rate) : std::string("?")) + " " + opt_.unit + "/s";
    if (complete || !known)
        right += "  " + format_duration(elapsed);
    else
        right += "  ETA " + format_duration(eta_seconds(done_, total_, rate));
    for (const auto& f : fields_) right += "  " + f.first + "=" + f.second;

    std::string left = label_;
    if (known) {
        const double frac = std::min(1.0, static_cast<double>(done_) / static_cast<double>(total_));
        char pct[8];
        std::snprintf(pct, sizeof(pct), "%3d%%", static_cast<int>(std::floor(frac * 100.0)));
        left += std::string(left.empty() ? "" : " ") + pct + " ";
        const int room = opt_.width - static_cast<int>(left.size() + right.size()) - 2;
        const int bar = std::min(40, room);
        if (bar >= 10) {
            const int fill = static_cast<int>(std::floor(frac * bar));
            left += "[" + std::string(static_cast<size_t>(fill), '#') +
                    std::string(static_cast<size_t>(bar - fill), '.') + "]";
        }
    }
    std::string line = left + right;
    // Never wider than the terminal: a wrapped line breaks the \r redraw.
    if (static_cast<int>(line.size()) > opt_.width) line.resize(static_cast<size_t>(std::max(opt_.width, 0)));
    return line;
}

}  // namespace qat
