// Data sets for the public API: the DataSpec -> data::Dataset + Preprocess mapping (the same
// pick of samples as `qat calibrate --calib-samples --seed`) and load_samples().
#include <algorithm>
#include <cctype>

#include "api/api_internal.h"
#include "data/loader.h"
#include "data/random.h"

namespace qat::api {
namespace internal {

::qat::Result<OpenedSet> open_set(const DataSpec& d, const std::string& role) {
    if (d.source.empty()) return invalid_argument("the ", role, " data set is not named (DataSpec::source)");
    if (d.samples < 0) return invalid_argument("DataSpec::samples must be >= 0, got ", d.samples);
    auto spec = data::parse_data_spec(d.source);
    if (!spec.ok()) return std::move(spec).take_status().with_context("in the " + role + " DataSpec::source");
    auto split = data::parse_split(d.split);
    if (!split.ok()) return invalid_argument("DataSpec::split: ", split.status().message());
    QAT_ASSIGN_OR_RETURN(data::DatasetPtr full, data::open_dataset(*spec, *split));
    OpenedSet out;
    out.dataset = full;
    if (d.samples > 0 && d.samples < full->size()) {
        QAT_ASSIGN_OR_RETURN(out.dataset,
                             data::make_subset(full, data::select_subset(full->size(), d.samples, d.seed)));
    }
    if (out.dataset->size() == 0)
        return invalid_argument("the ", role, " set is empty (", d.source, " ", data::split_name(*split), ")");

    data::Preprocess pre = data::default_preprocess(full->sample_dtype());
    if (d.scale >= 0.0f) pre.scale = d.scale;
    pre.mean = d.mean;
    pre.std = d.std;
    std::string l = d.layout;
    std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::toupper(c); });
    if (l == "NCHW") {
        pre.layout = data::Layout::kNCHW;
    } else if (l == "NHWC") {
        pre.layout = data::Layout::kNHWC;
    } else {
        return invalid_argument("DataSpec::layout must be NCHW or NHWC, got '", d.layout, "'");
    }
    pre.to_rgb = d.to_rgb;
    out.preprocess = pre;
    out.description =
        spec->to_string() + " " + data::split_name(*split) + ": " + std::to_string(out.dataset->size()) + " samples";
    return out;
}

}  // namespace internal

namespace {

::qat::Result<Samples> load_samples_impl(const DataSpec& d) {
    QAT_ASSIGN_OR_RETURN(internal::OpenedSet set, internal::open_set(d, "sample"));
    data::LoaderOptions lo;
    lo.batch_size = set.dataset->size();  // one batch: the whole pick
    lo.preprocess = set.preprocess;
    lo.prefetch = 0;
    QAT_ASSIGN_OR_RETURN(auto loader, data::Loader::create(set.dataset, lo));
    loader->start_epoch(0);
    data::Batch b;
    QAT_ASSIGN_OR_RETURN(bool got, loader->next(&b));
    if (!got) return invalid_argument("the data set gave no samples (", set.description, ")");
    Samples s;
    s.images = internal::to_float_tensor(b.images);
    const ::qat::Tensor& labels = b.labels;
    for (int64_t i = 0; i < b.size(); ++i)
        s.labels.push_back(labels.defined() ? static_cast<int64_t>(labels.get_as_double(i)) : -1);
    s.num_classes = set.dataset->num_classes();
    s.class_names = set.dataset->class_names();
    s.description = set.description;
    return s;
}

}  // namespace

Result<Samples> load_samples(const DataSpec& data) {
    auto r = load_samples_impl(data);
    if (!r.ok()) return internal::to_api(r.status());
    return std::move(r).value();
}

}  // namespace qat::api
