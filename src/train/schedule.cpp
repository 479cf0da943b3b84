#include "train/schedule.h"

#include <cmath>
#include <sstream>

namespace qat::train {

const char* schedule_name(ScheduleKind k) {
    switch (k) {
        case ScheduleKind::kPiecewise:
            return "piecewise";
        case ScheduleKind::kCosine:
            return "cosine";
        case ScheduleKind::kStep:
            return "step";
        case ScheduleKind::kConstant:
            return "constant";
    }
    return "?";
}

Result<ScheduleKind> parse_schedule(const std::string& s) {
    if (s == "piecewise") return ScheduleKind::kPiecewise;
    if (s == "cosine") return ScheduleKind::kCosine;
    if (s == "step") return ScheduleKind::kStep;
    if (s == "constant" || s == "none") return ScheduleKind::kConstant;
    return invalid_argument("schedule '", s, "' is not one of piecewise, cosine, step, constant");
}

Result<std::vector<PiecewisePoint>> parse_piecewise(const std::string& s) {
    std::vector<PiecewisePoint> pts;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) {
        const size_t c = item.find(':');
        PiecewisePoint p;
        try {
            if (c == std::string::npos) throw std::invalid_argument("no colon");
            size_t used = 0;
            p.factor = std::stod(item.substr(0, c), &used);
            if (used != c) throw std::invalid_argument("factor");
            const std::string e = item.substr(c + 1);
            p.epoch = std::stod(e, &used);
            if (used != e.size()) throw std::invalid_argument("epoch");
        } catch (const std::exception&) {
            return invalid_argument("--piecewise entry '", item, "' is not FACTOR:EPOCH (e.g. 1.0:1,0.1:2,0.01:7)");
        }
        if (!(p.factor > 0.0) || !std::isfinite(p.factor))
            return invalid_argument("--piecewise factor ", p.factor, " must be > 0");
        if (!(p.epoch >= 0.0) || !std::isfinite(p.epoch))
            return invalid_argument("--piecewise epoch ", p.epoch, " must be >= 0");
        if (!pts.empty() && p.epoch <= pts.back().epoch)
            return invalid_argument("--piecewise epochs must increase, got ", pts.back().epoch, " then ", p.epoch);
        pts.push_back(p);
    }
    if (pts.empty()) return invalid_argument("--piecewise is empty");
    return pts;
}

std::vector<PiecewisePoint> default_piecewise(double total_epochs) {
    const double k = total_epochs / 10.0;
    return {{1.0, 1.0 * k}, {0.1, 2.0 * k}, {0.01, 7.0 * k}};
}

double LrSchedule::at(int64_t step) const {
    const double spe = static_cast<double>(std::max<int64_t>(1, steps_per_epoch));
    switch (kind) {
        case ScheduleKind::kConstant:
            return base_lr;
        case ScheduleKind::kPiecewise: {
            if (points.empty()) return base_lr;
            // Warm-up: linear over the first point's epochs, reaching factor0 at its end.
            const double warm = points[0].epoch * spe;
            if (static_cast<double>(step) < warm)
                return base_lr * points[0].factor * (static_cast<double>(step) + 1.0) / std::ceil(warm);
            const double epoch = static_cast<double>(step) / spe;
            double f = points[0].factor;
            for (const PiecewisePoint& p : points)
                if (epoch >= p.epoch) f = p.factor;
            return base_lr * f;
        }
        case ScheduleKind::kCosine: {
            if (step < warmup_steps)
                return base_lr * (static_cast<double>(step) + 1.0) / static_cast<double>(warmup_steps);
            const double span = static_cast<double>(std::max<int64_t>(1, total_steps - warmup_steps));
            const double t = std::min(1.0, static_cast<double>(step - warmup_steps) / span);
            return base_lr * 0.5 * (1.0 + std::cos(M_PI * t));
        }
        case ScheduleKind::kStep: {
            const double epoch = static_cast<double>(step) / spe;
            const double n = std::floor(epoch / std::max(step_epochs, 1e-9));
            return base_lr * std::pow(gamma, n);
        }
    }
    return base_lr;
}

}  // namespace qat::train
