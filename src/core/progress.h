// A small progress bar on stderr for long work (calibration, training epochs, evaluation):
//
//   calibrate  42% [##########..............]  4200/10000  1.52k samples/s  ETA 0:04  amax=3.1
//
// It draws only when stderr is a terminal and the caller is not quiet (so logs and pipes stay
// clean), redraws at most 10 times a second, and ends with a newline. The clock and the output are
// injectable so that formatting and ETA math are tested without a terminal or real time.
//
//   ProgressBar bar("calibrate", loader->num_samples(), {.quiet = quiet});
//   for (...) { ...; bar.advance(batch.size()); bar.set_field("loss", loss); }
//   bar.finish();
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace qat {

struct ProgressOptions {
    bool quiet = false;
    // Draw or not; unset means "when stderr is a terminal". quiet wins over both.
    std::optional<bool> enabled;
    double min_interval_s = 0.1;  // redraw throttle (10 Hz)
    int width = 0;                // line width in columns; 0: the terminal's, else 100
    std::string unit = "samples";
    std::function<double()> clock;                  // seconds; default: steady clock
    std::function<void(const std::string&)> write;  // default: stderr, flushed
};

class ProgressBar {
  public:
    ProgressBar(std::string label, int64_t total, ProgressOptions options = {});
    ~ProgressBar();  // finish()
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    bool enabled() const { return enabled_; }
    // total <= 0: unknown (no percentage, bar or ETA).
    void set_total(int64_t total);
    void update(int64_t done);  // absolute count
    void advance(int64_t n = 1);
    // Extra "name=value" fields after the ETA (loss, accuracy); set again to change the value.
    void set_field(const std::string& name, const std::string& value);
    void set_field(const std::string& name, double value, int precision = 4);
    // Last redraw and a newline (once). Nothing when disabled.
    void finish();

    // The line for the current state at clock time `now` (no \r, no newline).
    std::string render(double now) const;
    int64_t done() const { return done_; }

    // "0:05", "12:34", "1:02:03"; "?" when not finite or negative.
    static std::string format_duration(double seconds);
    // "850", "1.52k", "3.40M" (3 significant digits).
    static std::string format_count(double v);
    // Seconds left at `rate` units/s: (total - done) / rate; negative when unknown.
    static double eta_seconds(int64_t done, int64_t total, double rate);

  private:
    void maybe_draw(bool force);
    double now() const;

    std::string label_;
    int64_t total_ = 0;
    int64_t done_ = 0;
    ProgressOptions opt_;
    bool enabled_ = false;
    bool finished_ = false;
    double start_ = 0;
    double last_draw_ = -1e300;
    std::vector<std::pair<std::string, std::string>> fields_;
    mutable std::mutex mu_;
};

}  // namespace qat
