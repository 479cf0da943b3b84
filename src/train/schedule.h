// Learning-rate schedules of the trainer, as a pure function of the step (so a resumed run gets
// exactly the rate an uninterrupted one had).
//
//   piecewise  constant pieces after a linear warm-up: a list of (factor, start epoch). The first
//              entry's epoch is the warm-up length: the rate climbs linearly to factor0 * lr over
//              it, then each factor applies from its epoch on. Default: the reference toolkit's
//              [(1.0, 1), (0.1, 2), (0.01, 7)] for a 10-epoch run, scaled to the run's length
//              (warm-up over the first 10%, x0.1 from 20%, x0.01 from 70%).
//   cosine     lr * (1 + cos(pi * t / T)) / 2 after an optional linear warm-up
//   step       lr * gamma ^ floor(epoch / step_epochs)
//   constant   lr
//
//   train::LrSchedule s = train::LrSchedule::piecewise_default(lr, total_steps, steps_per_epoch);
//   double rate = s.at(step);
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace qat::train {

enum class ScheduleKind { kPiecewise, kCosine, kStep, kConstant };
const char* schedule_name(ScheduleKind k);
Result<ScheduleKind> parse_schedule(const std::string& s);

struct PiecewisePoint {
    double factor = 1.0;
    double epoch = 0.0;  // start (the first point's: end of the warm-up)
};
// "1.0:1,0.1:2,0.01:7" (FACTOR:EPOCH, epochs ascending, factors > 0).
Result<std::vector<PiecewisePoint>> parse_piecewise(const std::string& s);
// The reference toolkit's default points, [(1.0,1),(0.1,2),(0.01,7)] of a 10-epoch run, scaled to
// `total_epochs`.
std::vector<PiecewisePoint> default_piecewise(double total_epochs);

struct LrSchedule {
    ScheduleKind kind = ScheduleKind::kConstant;
    double base_lr = 0.1;
    int64_t total_steps = 1;
    int64_t steps_per_epoch = 1;
    std::vector<PiecewisePoint> points;  // piecewise
    int64_t warmup_steps = 0;            // cosine
    double step_epochs = 1.0;            // step
    double gamma = 0.1;                  // step

    // Rate for step `step` (0-based: the update that step applies).
    double at(int64_t step) const;
};

}  // namespace qat::train
