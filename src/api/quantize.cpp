// quantize() and calibrate() of the public API: the library side of `qat quantize` and
// `qat calibrate` (without the CLI's flags). Both work on a copy of the graph and only replace
// the model's graph when everything succeeded, so a failed call leaves the model as it was.
#include "quant/quantize.h"

#include <algorithm>
#include <thread>

#include "api/api_internal.h"
#include "data/loader.h"
#include "passes/quant/presets.h"
#include "passes/quant/strip_qdq.h"
#include "qat/quantize.h"
#include "quant/calib_table.h"
#include "quant/calibrate.h"
#include "quant/calibrator.h"
#include "quant/name_match.h"
#include "quant/sensitivity.h"

namespace qat::api {
namespace {

// QuantizeOptions -> quant::QuantizeOptions, every value checked (the messages name the field).
::qat::Result<quant::QuantizeOptions> make_options(const QuantizeOptions& o) {
    quant::PlacementChoices c{o.spec_file, o.mode,    o.preset,  o.cases,     o.include,
                              o.exclude,   o.weights, o.fold_bn, o.requantize};
    QAT_ASSIGN_OR_RETURN(
        quant::QuantizeOptions q,
        quant::make_quantize_options(c, {"QuantizeOptions::mode", "QuantizeOptions::preset", "QuantizeOptions::cases",
                                         "QuantizeOptions::weights", "QuantizeOptions::include",
                                         "QuantizeOptions::exclude", "the spec, include, preset or cases"}));
    if (!o.calib_table_file.empty()) {
        QAT_ASSIGN_OR_RETURN(q.calib_table, quant::load_calib_table(o.calib_table_file));
        q.calib_table_name = "calibration table " + o.calib_table_file;
    }
    return q;
}

::qat::Result<QuantizeReport> quantize_impl(Model& model, const QuantizeOptions& o) {
    QAT_ASSIGN_OR_RETURN(quant::QuantizeOptions q, make_options(o));
    std::unique_ptr<ir::Graph> g = model.impl().graph->clone();
    auto s = quant::quantize_graph(*g, q);
    if (!s.ok()) return std::move(s).take_status().with_context("while quantizing " + model.source());
    QuantizeReport r;
    r.activation_qdq = s->activation_qdq;
    r.weight_qdq = s->weight_qdq;
    r.calibrated = s->calibrated;
    r.summary = quant::format_quantize_summary(*s);
    model.impl().graph = std::move(g);
    return r;
}

::qat::Result<quant::CalibratorOptions> make_calibrator(const CalibrateOptions& o) {
    quant::CalibratorOptions c;
    auto m = quant::parse_calib_method(o.method);
    if (!m.ok()) return invalid_argument("CalibrateOptions::method: ", m.status().message());
    c.method = *m;
    if (!(o.percentile > 0.0 && o.percentile <= 100.0))
        return invalid_argument("CalibrateOptions::percentile must be in (0, 100], got ", o.percentile);
    c.percentile = o.percentile;
    if (o.bins < 16 || o.bins > (int64_t{1} << 20))
        return invalid_argument("CalibrateOptions::bins must be in [16, 1048576], got ", o.bins);
    if (c.method == quant::CalibMethod::kEntropy && o.bins <= c.entropy.quant_bins)
        return invalid_argument("CalibrateOptions::bins must be > ", c.entropy.quant_bins,
                                " for the entropy method, got ", o.bins);
    return c;
}

::qat::Result<CalibrateReport> calibrate_impl(Model& model, const DataSpec& d, const CalibrateOptions& o) {
    // Every option first: nothing runs when one is wrong.
    QAT_ASSIGN_OR_RETURN(quant::CalibratorOptions calib, make_calibrator(o));
    if (o.batch < 1) return invalid_argument("CalibrateOptions::batch must be >= 1, got ", o.batch);
    if (o.threads < 0) return invalid_argument("CalibrateOptions::threads must be >= 0, got ", o.threads);
    QAT_ASSIGN_OR_RETURN(quant::QuantizeOptions probe, make_options(o.placement));
    (void)probe;
    quant::QuantizeOptionsFactory factory = [po = o.placement]() { return make_options(po); };

    const ir::Graph& src = *model.impl().graph;
    const bool has_qdq = !passes::quant::find_quantization_nodes(src).empty();
    const bool recalibrate = has_qdq && !o.placement.requantize;
    std::unique_ptr<ir::Graph> g = src.clone();
    std::unique_ptr<ir::Graph> fp32;
    if (has_qdq) {
        QAT_ASSIGN_OR_RETURN(fp32, quant::strip_qdq_copy(*g));
    } else {
        fp32 = g->clone();
    }
    QAT_ASSIGN_OR_RETURN(const ir::Value* input, quant::single_input(*fp32, model.source()));

    // The data, batched to fit the model's input (its static batch dim when it has one).
    QAT_ASSIGN_OR_RETURN(internal::OpenedSet set, internal::open_set(d, "calibration"));
    const Shape& s = input->shape();
    const int64_t fixed = s.rank_known() && s.rank() >= 1 && s[0].is_static() && s[0].value > 0 ? s[0].value : 0;
    data::LoaderOptions lo;
    lo.batch_size = fixed > 0 ? fixed : o.batch;
    lo.preprocess = set.preprocess;
    lo.prefetch = 2;
    auto loader = data::Loader::create(set.dataset, lo);
    if (!loader.ok()) return std::move(loader).take_status().with_context("for the calibration data");
    QAT_RETURN_IF_ERROR(data::check_input_shape((*loader)->sample_dims(), input->shape(), input->name(), fixed)
                            .with_context("calibration data " + set.description));
    auto source = quant::make_loader_source(std::move(loader).value(), set.description);

    quant::CollectOptions co;
    co.run.backends = o.backends;
    co.run.threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    co.observer.bins = o.bins;
    co.quiet = o.quiet;
    quant::CalibrationSession session(source.get(), co);

    std::unique_ptr<ir::Graph> out;
    if (recalibrate) {
        QAT_RETURN_IF_ERROR(quant::recalibrate_activations(*g, *fp32, session, calib));
        out = std::move(g);
    } else {
        auto r = quant::build_variant(*g, factory, session, calib, {});
        if (!r.ok()) return std::move(r).take_status().with_context("while quantizing " + model.source());
        out = std::move(r).value();
    }

    CalibrateReport rep;
    rep.method = quant::calibrator_key(calib, co.observer);
    rep.data = source->description();
    rep.samples = session.samples();
    rep.tensors = static_cast<int64_t>(quant::qdq_activation_tensors(*out).size());
    rep.recalibrated = recalibrate;
    model.impl().graph = std::move(out);
    return rep;
}

}  // namespace

Result<QuantizeReport> quantize(Model& model, const QuantizeOptions& options) {
    auto r = quantize_impl(model, options);
    if (!r.ok()) return internal::to_api(r.status());
    return std::move(r).value();
}

Result<CalibrateReport> calibrate(Model& model, const DataSpec& data, const CalibrateOptions& options) {
    auto r = calibrate_impl(model, data, options);
    if (!r.ok()) return internal::to_api(r.status());
    return std::move(r).value();
}

}  // namespace qat::api
