#include "quant/calib_table.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "core/file_util.h"
#include "core/quant_params.h"

namespace qat::quant {

using nlohmann::json;

float CalibEntry::scale() const { return symmetric_scale(amax); }

std::map<std::string, float> CalibTable::amax_map() const {
    std::map<std::string, float> m;
    for (const auto& [k, e] : tensors) m[k] = e.amax;
    return m;
}

namespace {

Result<float> get_float(const json& j, const std::string& where) {
    if (!j.is_number()) return invalid_argument(where, " must be a number, got ", j.type_name());
    double d = j.get<double>();
    if (!std::isfinite(d)) return invalid_argument(where, " is not finite");
    return static_cast<float>(d);
}

Result<HistogramSummary> parse_histogram(const json& h, const std::string& where) {
    if (!h.is_object()) return invalid_argument(where, " must be an object");
    static const std::set<std::string> kKeys = {"bins", "min", "max", "counts"};
    for (const auto& [k, v] : h.items())
        if (!kKeys.count(k))
            return invalid_argument(where, ": unknown key \"", k, "\" (known: bins, min, max, counts)");
    HistogramSummary s;
    if (h.contains("bins")) {
        if (!h["bins"].is_number_integer() || h["bins"].get<int64_t>() < 0)
            return invalid_argument(where, ".bins must be a non-negative integer");
        s.bins = h["bins"].get<int64_t>();
    }
    if (h.contains("min")) {
        QAT_ASSIGN_OR_RETURN(s.min, get_float(h["min"], where + ".min"));
    }
    if (h.contains("max")) {
        QAT_ASSIGN_OR_RETURN(s.max, get_float(h["max"], where + ".max"));
    }
    if (h.contains("counts")) {
        if (!h["counts"].is_array()) return invalid_argument(where, ".counts must be a list");
        for (const json& c : h["counts"]) {
            if (!c.is_number_integer() || c.get<int64_t>() < 0)
                return invalid_argument(where, ".counts must hold non-negative integers");
            s.counts.push_back(c.get<int64_t>());
        }
        if (s.bins == 0) s.bins = static_cast<int64_t>(s.counts.size());
        if (s.bins != static_cast<int64_t>(s.counts.size()))
            return invalid_argument(where, ": bins = ", s.bins, " but counts has ", s.counts.size(), " entries");
    }
    return s;
}

}  // namespace

Result<CalibTable> parse_calib_table(const std::string& text, const std::string& what) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::parse_error& e) {
        std::string m = e.what();
        auto p = m.find("parse error");
        return invalid_argument(what, ": not valid JSON: ", p == std::string::npos ? m : m.substr(p));
    }
    if (!j.is_object()) return invalid_argument(what, ": expected a JSON object with \"tensors\"");
    static const std::set<std::string> kTop = {"format", "version", "method", "model", "samples", "tensors"};
    for (const auto& [k, v] : j.items())
        if (!kTop.count(k))
            return invalid_argument(what, ": unknown key \"", k,
                                    "\" (known: format, version, method, model, samples, tensors)");
    if (j.contains("format") && (!j["format"].is_string() || j["format"].get<std::string>() != kCalibTableFormat))
        return invalid_argument(what, ": \"format\" is ", j["format"].dump(), ", expected \"", kCalibTableFormat, "\"");
    if (j.contains("version")) {
        if (!j["version"].is_number_integer()) return invalid_argument(what, ": \"version\" must be an integer");
        if (j["version"].get<int64_t>() != kCalibTableVersion)
            return unsupported(what, ": calibration table version ", j["version"].get<int64_t>(), " (this qat reads ",
                               kCalibTableVersion, ")");
    }
    CalibTable t;
    for (const char* k : {"method", "model"}) {
        if (!j.contains(k)) continue;
        if (!j[k].is_string()) return invalid_argument(what, ": \"", k, "\" must be a string");
        (std::string(k) == "method" ? t.method : t.model) = j[k].get<std::string>();
    }
    if (j.contains("samples")) {
        if (!j["samples"].is_number_integer() || j["samples"].get<int64_t>() < 0)
            return invalid_argument(what, ": \"samples\" must be a non-negative integer");
        t.samples = j["samples"].get<int64_t>();
    }
    if (!j.contains("tensors") || !j["tensors"].is_object())
        return invalid_argument(what, ": missing \"tensors\" (an object: tensor name -> {\"amax\": ...})");
    static const std::set<std::string> kEntry = {"amax", "scale", "method", "histogram"};
    for (const auto& [name, e] : j["tensors"].items()) {
        std::string where = what + ": tensor '" + name + "'";
        CalibEntry ce;
        if (e.is_number()) {
            QAT_ASSIGN_OR_RETURN(ce.amax, get_float(e, where));
        } else if (e.is_object()) {
            for (const auto& [k, v] : e.items())
                if (!kEntry.count(k))
                    return invalid_argument(where, ": unknown key \"", k, "\" (known: amax, scale, method, histogram)");
            bool has_amax = e.contains("amax"), has_scale = e.contains("scale");
            if (!has_amax && !has_scale) return invalid_argument(where, ": needs \"amax\" or \"scale\"");
            float scale = 0.0f;
            if (has_scale) {
                QAT_ASSIGN_OR_RETURN(scale, get_float(e["scale"], where + " scale"));
                if (!(scale > 0.0f)) return invalid_argument(where, ": scale must be > 0, got ", scale);
            }
            if (has_amax) {
                QAT_ASSIGN_OR_RETURN(ce.amax, get_float(e["amax"], where + " amax"));
                if (has_scale && std::fabs(symmetric_scale(ce.amax) - scale) > 1e-5f * scale)
                    return invalid_argument(where, ": amax ", ce.amax, " and scale ", scale,
                                            " disagree (symmetric int8: scale = amax / 127)");
            } else {
                ce.amax = scale * 127.0f;
            }
            if (e.contains("method")) {
                if (!e["method"].is_string()) return invalid_argument(where, ": \"method\" must be a string");
                ce.method = e["method"].get<std::string>();
            }
            if (e.contains("histogram")) {
                QAT_ASSIGN_OR_RETURN(ce.histogram, parse_histogram(e["histogram"], where + " histogram"));
            }
        } else {
            return invalid_argument(where, ": expected a number (amax) or an object, got ", e.type_name());
        }
        if (ce.amax < 0.0f) return invalid_argument(where, ": amax must be >= 0, got ", ce.amax);
        t.tensors[name] = std::move(ce);
    }
    return t;
}

Result<CalibTable> load_calib_table(const std::string& path) {
    QAT_ASSIGN_OR_RETURN(std::string text, read_file(path));
    return parse_calib_table(text, path);
}

std::string serialize_calib_table(const CalibTable& t) {
    json j;
    j["format"] = kCalibTableFormat;
    j["version"] = kCalibTableVersion;
    if (!t.method.empty()) j["method"] = t.method;
    if (!t.model.empty()) j["model"] = t.model;
    if (t.samples > 0) j["samples"] = t.samples;
    json ts = json::object();
    for (const auto& [name, e] : t.tensors) {
        json je;
        je["amax"] = e.amax;
        je["scale"] = e.scale();
        if (!e.method.empty()) je["method"] = e.method;
        if (e.histogram) {
            json h;
            h["bins"] = e.histogram->bins;
            h["min"] = e.histogram->min;
            h["max"] = e.histogram->max;
            if (!e.histogram->counts.empty()) h["counts"] = e.histogram->counts;
            je["histogram"] = h;
        }
        ts[name] = je;
    }
    j["tensors"] = ts;
    return j.dump(2) + "\n";
}

Status save_calib_table(const std::string& path, const CalibTable& t) {
    return write_file_atomic(path, serialize_calib_table(t));
}

std::vector<std::string> missing_tensors(const CalibTable& t, const std::vector<std::string>& needed) {
    std::vector<std::string> out;
    for (const auto& n : needed)
        if (!t.tensors.count(n)) out.push_back(n);
    return out;
}

}  // namespace qat::quant
