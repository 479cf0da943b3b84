// qat calibrate MODEL --data SPEC -o OUT [--method entropy|max|percentile|mse] [--calib-samples N]
//               [--seed S] [--batch B] [--table calib.json] [--trt-cache FILE]
//               [--accuracy-budget PP | --sqnr-budget DB] [placement options of qat quantize]
//
// Post-training quantization: runs the FP32 model on a calibration subset, records a histogram
// per activation that feeds a QuantizeLinear (quant/calibrate.h), and writes the QDQ model with
// the calibrated scales. A float model gets its Q/DQ placed first (same placement options and
// code as `qat quantize`); a model that already holds Q/DQ keeps its placement and gets new
// activation scales (or is placed again with --requantize). With a budget, the most sensitive
// layers go back to float until the held-out accuracy (or output SQNR) holds
// (quant/sensitivity.h). Every flag and file is checked before the long work, and nothing is
// written on any error.
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/calib_options.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/quantize_options.h"
#include "core/file_util.h"
#include "core/quant_params.h"
#include "onnx/onnx_export.h"
#include "onnx/shape_inference.h"
#include "onnx/version_convert.h"
#include "passes/quant/strip_qdq.h"
#include "quant/calibrate.h"
#include "quant/compare.h"
#include "quant/name_match.h"
#include "quant/sensitivity.h"
#include "quant/trt_cache.h"

namespace qat::cli {
namespace {

struct CalibrateCmdOptions {
    std::string model;
    std::string output;
    DataFlags data;
    DataFlags eval{.split = "test", .samples = 1000};
    PreprocessFlags pre;
    RunFlags run;
    CalibFlags calib;
    PlacementCliOptions placement;
    std::string table;
    bool table_histograms = false;
    std::string trt_cache;
    std::string trt_header = quant::kDefaultTrtCacheHeader;
    double accuracy_budget = -1;
    double sqnr_budget = -1e300;
    bool json = false;
    bool quiet = false;
};

Status run_calibrate(const CalibrateCmdOptions& o) {
    // ---- every flag and path first ----
    QAT_RETURN_IF_ERROR(check_readable_file(o.model, "model"));
    if (o.output.empty()) return invalid_argument("missing -o/--output (where to write the calibrated model)");
    QAT_ASSIGN_OR_RETURN(quant::CalibratorOptions calib, make_calibrator_options(o.calib));
    QAT_ASSIGN_OR_RETURN(quant::RunOptions run, make_run_options(o.run));
    const bool acc_budget = o.accuracy_budget != -1, sqnr_budget = o.sqnr_budget != -1e300;
    if (acc_budget && sqnr_budget) return invalid_argument("--accuracy-budget and --sqnr-budget exclude each other");
    if (acc_budget && !(o.accuracy_budget >= 0.0 && o.accuracy_budget <= 100.0))
        return invalid_argument("--accuracy-budget must be in [0, 100] percentage points, got ", o.accuracy_budget);
    if (o.trt_header.rfind("TRT-", 0) != 0 || o.trt_header.find('\n') != std::string::npos)
        return invalid_argument("--trt-cache-header must look like TRT-8601-EntropyCalibration2, got '", o.trt_header,
                                "'");
    quant::QuantizeOptionsFactory factory = [po = o.placement]() { return make_quantize_options(po); };
    {
        auto probe = factory();  // unknown preset / case / unreadable spec: fail now
        if (!probe.ok()) return std::move(probe).take_status();
    }
    for (const auto& [path, flag] : {std::pair{o.output, "-o"}, {o.table, "--table"}, {o.trt_cache, "--trt-cache"}}) {
        if (path.empty()) continue;
        Status s = check_writable_file(path);
        if (!s.ok()) return std::move(s).with_context(std::string("for ") + flag);
        if (path == o.model) return invalid_argument(flag, " '", path, "' is the input model");
    }
    if (!o.table.empty() && (o.table == o.output || o.table == o.trt_cache))
        return invalid_argument("--table names the same file as another output");
    if (!o.trt_cache.empty() && o.trt_cache == o.output)
        return invalid_argument("--trt-cache names the same file as -o");

    // ---- model ----
    int64_t from_opset = 0;
    QAT_ASSIGN_OR_RETURN(std::unique_ptr<ir::Graph> g, onnx::load_model_min_opset(o.model, 13, &from_opset));
    if (from_opset != 0 && from_opset < 13 && !o.quiet)
        std::fprintf(stderr, "qat calibrate: upgraded %s from opset %lld to 13 (Q/DQ per-channel needs 13)\n",
                     o.model.c_str(), static_cast<long long>(from_opset));
    Status si = onnx::infer_shapes(*g);
    if (!si.ok() && !o.quiet)
        std::fprintf(stderr, "qat calibrate: warning: shape inference failed (%s)\n", si.to_string().c_str());
    const bool has_qdq = !passes::quant::find_quantization_nodes(*g).empty();
    const bool recalibrate = has_qdq && !o.placement.requantize;
    if (recalibrate && (acc_budget || sqnr_budget))
        return invalid_argument(
            "a budget places Q/DQ itself: give the FP32 model, or add --requantize to place the "
            "Q/DQ of ",
            o.model, " again");
    std::unique_ptr<ir::Graph> fp32;
    if (has_qdq) {
        QAT_ASSIGN_OR_RETURN(fp32, quant::strip_qdq_copy(*g));
    } else {
        fp32 = g->clone();
    }
    QAT_ASSIGN_OR_RETURN(const ir::Value* input, quant::single_input(*fp32, o.model));

    // ---- data ----
    QAT_ASSIGN_OR_RETURN(OpenedData cd, open_data(o.data, kCalibDataNames, o.pre, *input, o.run.batch));
    OpenedData ed;
    std::unique_ptr<quant::Evaluator> evaluator;
    if (acc_budget || sqnr_budget) {
        QAT_ASSIGN_OR_RETURN(ed, open_eval_data(o.eval, &cd, o.data, o.pre, *input, o.run.batch));
        data::DatasetPtr eds = ed.dataset;
        auto check = [eds, acc_budget](int64_t classes) -> Status {
            if (!acc_budget) return OkStatus();
            return data::check_labels(*eds, classes).with_context("in the evaluation set");
        };
        QAT_ASSIGN_OR_RETURN(evaluator, quant::Evaluator::create(*fp32, ed.source.get(), run, o.quiet, check));
    }

    // ---- calibrate ----
    quant::CollectOptions co;
    co.run = run;
    co.observer = make_observer_options(o.calib);
    co.quiet = o.quiet;
    quant::CalibrationSession session(cd.source.get(), co);
    session.set_observe_all(!o.trt_cache.empty());

    std::unique_ptr<ir::Graph> out;
    std::optional<quant::QuantizeSummary> summary;
    std::optional<quant::MixedPrecisionResult> mixed;
    if (recalibrate) {
        QAT_RETURN_IF_ERROR(quant::recalibrate_activations(*g, *fp32, session, calib));
        out = std::move(g);
    } else if (evaluator) {
        quant::BudgetOptions b;
        b.metric = acc_budget ? quant::Metric::kAccuracy : quant::Metric::kSqnr;
        b.budget = acc_budget ? o.accuracy_budget : o.sqnr_budget;
        b.quiet = o.quiet;
        auto r = quant::search_mixed_precision(*g, factory, session, calib, *evaluator, b);
        if (!r.ok()) return std::move(r).take_status().with_context("while searching the mixed precision");
        out = std::move(r->graph);
        summary = r->summary;
        mixed = std::move(r).value();
    } else {
        quant::QuantizeSummary s;
        auto r = quant::build_variant(*g, factory, session, calib, {}, &s);
        if (!r.ok()) return std::move(r).take_status().with_context("while quantizing " + o.model);
        out = std::move(r).value();
        summary = std::move(s);
    }

    // ---- outputs: all bytes first, then the files ----
    std::vector<std::string> qtensors = quant::qdq_activation_tensors(*out);
    QAT_ASSIGN_OR_RETURN(quant::CalibTable table, session.table(qtensors, calib, o.table_histograms));
    table.model = o.model;
    onnx::ExportOptions eo;
    eo.check = true;
    auto bytes = onnx::export_model_bytes(*out, eo);
    if (!bytes.ok()) return std::move(bytes).take_status().with_context("while exporting the calibrated model");
    std::string cache_text;
    size_t cache_entries = 0;
    if (!o.trt_cache.empty()) {
        quant::TrtCache cache;
        cache.header = o.trt_header;
        std::vector<std::string> names;
        for (const auto& t : quant::float_activation_tensors(*session.graph()))
            if (session.observers().count(t)) names.push_back(t);
        QAT_ASSIGN_OR_RETURN(auto amax, session.amax(names, calib));
        for (const auto& t : names) cache.entries.push_back({t, symmetric_scale(amax.at(t))});
        cache_entries = cache.entries.size();
        cache_text = quant::serialize_trt_cache(cache);
    }
    QAT_RETURN_IF_ERROR(write_file_atomic(o.output, *bytes));
    if (!o.table.empty()) QAT_RETURN_IF_ERROR(quant::save_calib_table(o.table, table));
    if (!o.trt_cache.empty()) QAT_RETURN_IF_ERROR(write_file_atomic(o.trt_cache, cache_text));

    // ---- report ----
    const std::string method = quant::calibrator_key(calib, co.observer);
    if (o.json) {
        nlohmann::json j;
        j["model"] = o.model;
        j["output"] = o.output;
        j["method"] = method;
        j["samples"] = session.samples();
        j["data_passes"] = session.passes();
        j["data"] = cd.source->description();
        j["recalibrated"] = recalibrate;
        nlohmann::json ts = nlohmann::json::object();
        for (const auto& [name, e] : table.tensors) ts[name] = {{"amax", e.amax}, {"scale", e.scale()}};
        j["tensors"] = ts;
        if (!o.table.empty()) j["table"] = o.table;
        if (!o.trt_cache.empty()) j["trt_cache"] = {{"path", o.trt_cache}, {"entries", cache_entries}};
        if (summary) j["placement"] = nlohmann::json::parse(quant::quantize_summary_json(*summary));
        if (mixed) {
            nlohmann::json m;
            m["metric"] = quant::metric_name(mixed->metric);
            m["budget"] = mixed->budget;
            m["met"] = mixed->met;
            m["float_layers"] = mixed->float_layers;
            m["fp32_top1"] = mixed->fp32.top1;
            m["int8_top1"] = mixed->full_int8.top1;
            m["final_top1"] = mixed->final.top1;
            m["int8_sqnr_db"] = std::isinf(mixed->full_int8.sqnr_db) ? 1e9 : mixed->full_int8.sqnr_db;
            m["final_sqnr_db"] = std::isinf(mixed->final.sqnr_db) ? 1e9 : mixed->final.sqnr_db;
            m["int8_mac_percent_full"] = mixed->full_coverage.percent();
            m["int8_mac_percent"] = mixed->final_coverage.percent();
            m["steps"] = mixed->steps;
            j["mixed_precision"] = m;
        }
        std::printf("%s\n", j.dump(2).c_str());
        return OkStatus();
    }
    std::printf("wrote %s\n", o.output.c_str());
    std::printf("calibration: %s on %s (%lld data pass%s)\n", method.c_str(), cd.source->description().c_str(),
                static_cast<long long>(session.passes()), session.passes() == 1 ? "" : "es");
    if (recalibrate)
        std::printf("kept the model's Q/DQ placement: %zu activation scale(s) recalibrated\n", qtensors.size());
    if (summary) std::printf("%s", quant::format_quantize_summary(*summary).c_str());
    if (mixed) std::printf("%s", quant::format_mixed_precision(*mixed).c_str());
    if (!o.table.empty()) std::printf("calibration table: %s (%zu tensors)\n", o.table.c_str(), table.tensors.size());
    if (!o.trt_cache.empty())
        std::printf("TensorRT calibration cache: %s (%zu tensors, header %s)\n", o.trt_cache.c_str(), cache_entries,
                    o.trt_header.c_str());
    return OkStatus();
}

}  // namespace

void add_calibrate_command(CLI::App& app) {
    auto o = std::make_shared<CalibrateCmdOptions>();
    auto* sub = app.add_subcommand("calibrate", "Post-training quantization: calibrate activation ranges on data");
    sub->add_option("model", o->model, "FP32 ONNX model (or a QDQ model to recalibrate)");
    sub->add_option("-o,--output", o->output, "where to write the calibrated QDQ model");
    add_data_flags(sub, &o->data, kCalibDataNames);
    add_calib_flags(sub, &o->calib);
    add_preprocess_flags(sub, &o->pre);
    add_run_flags(sub, &o->run);
    add_placement_options(sub, &o->placement);
    sub->add_option("--table", o->table,
                    "also write the calibration table (JSON) that qat quantize --calib-table reads");
    sub->add_flag("--table-histograms", o->table_histograms, "put each tensor's histogram counts in the table");
    sub->add_option("--trt-cache", o->trt_cache,
                    "also write a TensorRT calibration cache (every FP32 activation) for trtexec --calib");
    sub->add_option("--trt-cache-header", o->trt_header, "first line of the TensorRT cache")->capture_default_str();
    sub->add_option("--accuracy-budget", o->accuracy_budget,
                    "keep the most sensitive layers float until top-1 on the held-out set is at most this many "
                    "points below FP32")
        ->group("Mixed precision");
    sub->add_option("--sqnr-budget", o->sqnr_budget,
                    "keep the most sensitive layers float until the output SQNR against FP32 is at least this (dB)")
        ->group("Mixed precision");
    add_data_flags(sub, &o->eval, kEvalDataNames, false);
    sub->add_flag("--json", o->json, "print the result as one JSON object");
    sub->add_flag("-q,--quiet", o->quiet, "no progress bars or notes");
    sub->callback([o] { run_command("calibrate", [o] { return run_calibrate(*o); }); });
}

}  // namespace qat::cli
