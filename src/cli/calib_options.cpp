#include "cli/calib_options.h"

#include <algorithm>
#include <set>
#include <thread>

#include "backends/registry.h"
#include "core/file_util.h"
#include "data/loader.h"
#include "data/random.h"

namespace qat::cli {

void add_data_flags(CLI::App* sub, DataFlags* f, const DataFlagNames& n, bool seed) {
    std::string group = std::string(n.role) + " data";
    group[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(group[0])));
    sub->add_option(
           n.data, f->data,
           std::string(n.role) + " data set: fashion-mnist, idx:DIR, cifar:DIR, folder:DIR, npy:FILE[,LABELS.npy]")
        ->group(group);
    sub->add_option(n.split, f->split, "train or test")->capture_default_str()->group(group);
    sub->add_option(n.samples, f->samples, "number of samples, drawn at random with --seed (0: all)")
        ->capture_default_str()
        ->group(group);
    if (seed) sub->add_option("--seed", f->seed, "seed of the sample selection")->capture_default_str()->group(group);
}

void add_preprocess_flags(CLI::App* sub, PreprocessFlags* f) {
    sub->add_option("--scale", f->scale, "multiply raw samples by S (default 1/255 for pixels)")
        ->group("Preprocessing");
    sub->add_option("--mean", f->mean, "per-channel mean after scale")->delimiter(',')->group("Preprocessing");
    sub->add_option("--std", f->std, "per-channel std after scale")->delimiter(',')->group("Preprocessing");
    sub->add_option("--layout", f->layout, "NCHW or NHWC")->capture_default_str()->group("Preprocessing");
    sub->add_flag("--to-rgb", f->to_rgb, "repeat a grey channel into 3")->group("Preprocessing");
    sub->add_option("--resize", f->resize, "resize images first: S (shorter side, aspect kept) or HxW")
        ->group("Preprocessing");
    sub->add_option("--crop", f->crop, "then center-crop: S (SxS) or HxW")->group("Preprocessing");
}

void add_run_flags(CLI::App* sub, RunFlags* f) {
    std::string avail;
    for (const auto& b : backends::available_backends()) avail += (avail.empty() ? "" : ", ") + b;
    sub->add_option("--backend", f->backends,
                    "backend(s) the FP32 / QDQ graphs run on, comma separated (available: " + avail +
                        "; default: all, fastest first)")
        ->delimiter(',')
        ->group("Engine");
    sub->add_option("--threads", f->threads, "kernel threads (0: all cores)")->capture_default_str()->group("Engine");
    sub->add_option("--batch", f->batch, "batch size (a model with a fixed batch uses its own)")
        ->capture_default_str()
        ->group("Engine");
}

void add_calib_flags(CLI::App* sub, CalibFlags* f, const std::string& prefix) {
    const std::string p = "--" + prefix;
    sub->add_option(p + "method", f->method, "calibration method: max, percentile, entropy, mse")
        ->capture_default_str()
        ->group("Calibration");
    sub->add_option(p + "percentile", f->percentile, "percentile of |x| for the percentile method")
        ->capture_default_str()
        ->group("Calibration");
    sub->add_option(p + "bins", f->bins, "histogram bins per tensor")->capture_default_str()->group("Calibration");
    sub->add_flag(p + "moving-average", f->moving_average,
                  "max method: moving average of the per-batch max instead of the overall max")
        ->group("Calibration");
    sub->add_option(p + "averaging-constant", f->averaging_constant,
                    "weight of each new batch in the moving average (0 < c <= 1)")
        ->capture_default_str()
        ->group("Calibration");
}

Result<quant::RunOptions> make_run_options(const RunFlags& f) {
    quant::RunOptions r;
    for (const auto& b : f.backends)
        if (!backends::is_available(b)) {
            std::string avail;
            for (const auto& a : backends::available_backends()) avail += (avail.empty() ? "" : ", ") + a;
            return invalid_argument("--backend '", b, "' is not available in this build (available: ", avail, ")");
        }
    if (f.threads < 0) return invalid_argument("--threads must be >= 0, got ", f.threads);
    if (f.batch < 1) return invalid_argument("--batch must be >= 1, got ", f.batch);
    r.backends = f.backends;
    r.threads = f.threads > 0 ? f.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return r;
}

Result<quant::CalibratorOptions> make_calibrator_options(const CalibFlags& f, const std::string& prefix) {
    const std::string p = "--" + prefix;
    quant::CalibratorOptions c;
    auto m = quant::parse_calib_method(f.method);
    if (!m.ok()) return invalid_argument(p, "method: ", m.status().message());
    c.method = *m;
    if (!(f.percentile > 0.0 && f.percentile <= 100.0))
        return invalid_argument(p, "percentile must be in (0, 100], got ", f.percentile);
    c.percentile = f.percentile;
    if (f.bins < 16 || f.bins > (int64_t{1} << 20))
        return invalid_argument(p, "bins must be in [16, 1048576], got ", f.bins);
    if (c.method == quant::CalibMethod::kEntropy && f.bins <= c.entropy.quant_bins)
        return invalid_argument(p, "bins must be > ", c.entropy.quant_bins, " for the entropy method, got ", f.bins);
    if (!(f.averaging_constant > 0.0 && f.averaging_constant <= 1.0))
        return invalid_argument(p, "averaging-constant must be in (0, 1], got ", f.averaging_constant);
    if (f.moving_average && c.method != quant::CalibMethod::kMax)
        return invalid_argument(p, "moving-average applies to the max method, not ", f.method);
    c.moving_average = f.moving_average;
    return c;
}

quant::ObserverOptions make_observer_options(const CalibFlags& f) {
    quant::ObserverOptions o;
    o.bins = f.bins;
    o.averaging_constant = f.averaging_constant;
    return o;
}

Status check_readable_file(const std::string& path, const std::string& what) {
    if (path.empty()) return invalid_argument("missing ", what);
    if (!file_exists(path)) return not_found(what, " '", path, "' does not exist");
    if (is_directory(path)) return invalid_argument(what, " '", path, "' is a directory, expected a file");
    return OkStatus();
}

namespace {

Result<data::Preprocess> make_preprocess(const PreprocessFlags& p, DataType sample_dtype) {
    data::Preprocess pre = data::default_preprocess(sample_dtype);
    if (p.scale >= 0.0f) pre.scale = p.scale;
    pre.mean = p.mean;
    pre.std = p.std;
    std::string l = p.layout;
    std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::toupper(c); });
    if (l == "NCHW")
        pre.layout = data::Layout::kNCHW;
    else if (l == "NHWC")
        pre.layout = data::Layout::kNHWC;
    else
        return invalid_argument("--layout must be NCHW or NHWC, got '", p.layout, "'");
    pre.to_rgb = p.to_rgb;
    // The macro is several statements: keep the braces.
    if (!p.resize.empty()) {
        QAT_ASSIGN_OR_RETURN(pre.resize, data::parse_size(p.resize, "--resize"));
    }
    if (!p.crop.empty()) {
        QAT_ASSIGN_OR_RETURN(pre.crop, data::parse_size(p.crop, "--crop"));
    }
    return pre;
}

}  // namespace

Result<OpenedData> open_data(const DataFlags& f, const DataFlagNames& n, const PreprocessFlags& pflags,
                             const ir::Value& input, int64_t batch, const std::vector<int64_t>* exclude) {
    OpenedData d;
    if (f.data.empty()) return invalid_argument("missing ", n.data, " (the ", n.role, " data set)");
    if (f.samples < 0) return invalid_argument(n.samples, " must be >= 0, got ", f.samples);
    auto spec = data::parse_data_spec(f.data);
    if (!spec.ok()) return std::move(spec).take_status().with_context(std::string("in ") + n.data);
    d.spec = *spec;
    auto split = data::parse_split(f.split);
    if (!split.ok()) return invalid_argument(n.split, ": ", split.status().message());
    d.split = *split;
    QAT_ASSIGN_OR_RETURN(data::DatasetPtr full, data::open_dataset(d.spec, d.split));
    std::vector<int64_t> pool;
    if (exclude && !exclude->empty()) {
        std::set<int64_t> ex(exclude->begin(), exclude->end());
        for (int64_t i = 0; i < full->size(); ++i)
            if (!ex.count(i)) pool.push_back(i);
    } else {
        pool.resize(static_cast<size_t>(full->size()));
        for (int64_t i = 0; i < full->size(); ++i) pool[static_cast<size_t>(i)] = i;
    }
    const int64_t n_pool = static_cast<int64_t>(pool.size());
    std::vector<int64_t> pick = data::select_subset(n_pool, f.samples > 0 ? f.samples : n_pool, f.seed);
    for (int64_t k : pick) d.indices.push_back(pool[static_cast<size_t>(k)]);
    if (d.indices.empty())
        return invalid_argument("the ", n.role, " set is empty (", f.data, " ", data::split_name(d.split),
                                exclude && !exclude->empty() ? ", after leaving out the calibration samples" : "", ")");
    QAT_ASSIGN_OR_RETURN(d.dataset, data::make_subset(full, d.indices));

    QAT_ASSIGN_OR_RETURN(data::Preprocess pre, make_preprocess(pflags, full->sample_dtype()));
    const Shape& s = input.shape();
    int64_t fixed = s.rank_known() && s.rank() >= 1 && s[0].is_static() && s[0].value > 0 ? s[0].value : 0;
    d.batch = fixed > 0 ? fixed : batch;
    data::LoaderOptions lo;
    lo.batch_size = d.batch;
    lo.preprocess = pre;
    lo.prefetch = 2;
    auto loader = data::Loader::create(d.dataset, lo);
    if (!loader.ok()) return std::move(loader).take_status().with_context(std::string("for ") + n.data);
    QAT_RETURN_IF_ERROR(data::check_input_shape((*loader)->sample_dims(), input.shape(), input.name(), fixed));
    std::string desc =
        d.spec.to_string() + " " + data::split_name(d.split) + ": " + std::to_string(d.indices.size()) + " samples";
    d.source = quant::make_loader_source(std::move(loader).value(), desc);
    return d;
}

Result<OpenedData> open_eval_data(DataFlags eval, const OpenedData* calib, const DataFlags& calib_flags,
                                  const PreprocessFlags& pre, const ir::Value& input, int64_t batch) {
    if (eval.data.empty()) eval.data = calib_flags.data;
    eval.seed = calib_flags.seed;
    const std::vector<int64_t>* exclude = nullptr;
    if (calib) {
        auto spec = data::parse_data_spec(eval.data);
        auto split = data::parse_split(eval.split);
        // npy sets have one split whatever --split says.
        if (spec.ok() && split.ok() && spec->to_string() == calib->spec.to_string() &&
            (*split == calib->split || spec->kind == data::DataKind::kNpy))
            exclude = &calib->indices;
    }
    return open_data(eval, kEvalDataNames, pre, input, batch, exclude);
}

void add_calib_data_flags(CLI::App* sub, CalibDataFlags* f) {
    const char* g = "Calibration data (--calib-data)";
    sub->add_option("--calib-split", f->data.split, "split of --calib-data: train or test")
        ->capture_default_str()
        ->group(g);
    sub->add_option("--calib-samples", f->data.samples, "samples drawn from --calib-data (0: all)")
        ->capture_default_str()
        ->group(g);
    sub->add_option("--calib-seed", f->data.seed, "seed of the sample selection")->capture_default_str()->group(g);
    sub->add_option("--calib-batch", f->run.batch, "batch size of the calibration runs")
        ->capture_default_str()
        ->group(g);
    add_calib_flags(sub, &f->calib, "calib-");
    add_preprocess_flags(sub, &f->pre);
}

Result<quant::ActivationRangeFn> make_calib_data_ranges(const std::string& calib_data, const CalibDataFlags& f,
                                                        bool quiet) {
    QAT_ASSIGN_OR_RETURN(quant::CalibratorOptions calib, make_calibrator_options(f.calib, "calib-"));
    QAT_ASSIGN_OR_RETURN(quant::RunOptions run, make_run_options(f.run));
    DataFlags df = f.data;
    df.data = calib_data;
    {
        // A bad --calib-data string fails before the model is touched.
        auto spec = data::parse_data_spec(df.data);
        if (!spec.ok()) return std::move(spec).take_status().with_context("in --calib-data");
        auto split = data::parse_split(df.split);
        if (!split.ok()) return invalid_argument("--calib-split: ", split.status().message());
        if (df.samples < 0) return invalid_argument("--calib-samples must be >= 0, got ", df.samples);
    }
    struct State {
        OpenedData data;
        std::unique_ptr<quant::CalibrationSession> session;
    };
    auto st = std::make_shared<State>();
    const DataFlagNames names{"--calib-data", "--calib-split", "--calib-samples", "calibration"};
    PreprocessFlags pre = f.pre;
    quant::CollectOptions co;
    co.run = run;
    co.observer = make_observer_options(f.calib);
    co.quiet = quiet;
    int64_t batch = f.run.batch;
    return quant::ActivationRangeFn(
        [st, df, names, pre, co, batch, calib](
            const ir::Graph& g, const std::vector<std::string>& tensors) -> Result<std::map<std::string, float>> {
            if (!st->session) {
                QAT_ASSIGN_OR_RETURN(const ir::Value* input, quant::single_input(g, "the model"));
                QAT_ASSIGN_OR_RETURN(st->data, open_data(df, names, pre, *input, batch));
                st->session = std::make_unique<quant::CalibrationSession>(st->data.source.get(), co);
            }
            return st->session->range_fn(calib)(g, tensors);
        });
}

}  // namespace qat::cli
