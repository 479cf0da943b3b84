// qat eval model.{onnx,engine} --data SPEC [--split test] [--batch N] [--limit N]
//          [--backend B] [--threads T] [--scale S] [--mean M,..] [--std S,..] [--layout NCHW|NHWC]
//          [--to-rgb] [--json] [--quiet]
//
// Classification accuracy of a model on a data set (like the reference toolkit's
// infer_engine.py): top-1, top-5 and per-class top-1, through the same engine as `qat run`
// (an .onnx is built on the fly). The model must have one input (batch first) and a first output
// [batch, classes] (trailing 1-dims allowed). Preprocessing defaults to pixels / 255 (data/
// transforms.h); --scale / --mean / --std change it. A progress bar goes to stderr when it is a
// terminal. --json prints one object with at least top1, top5 (percent) and samples.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/engine_options.h"
#include "core/progress.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/transforms.h"
#include "engine/engine_file.h"

namespace qat::cli {
namespace {

struct EvalOptions {
    std::string model;
    std::string data;
    std::string split = "test";
    int64_t batch = 0;
    int64_t limit = 0;
    EngineFlags engine;
    float scale = -1.0f;  // <0: the data set's default
    std::vector<float> mean, std;
    std::string layout = "NCHW";
    bool to_rgb = false;
    bool json = false;
    bool quiet = false;
};

struct Counts {
    int64_t samples = 0, top1 = 0, top5 = 0;
    std::vector<int64_t> class_samples, class_top1;
};

// Rank of the true label's score among the row (0 = best); ties go to the lower index, as a
// stable argsort would.
int64_t rank_of_label(const Tensor& logits, int64_t row, int64_t k, int64_t label) {
    const double target = logits.get_as_double(row * k + label);
    int64_t rank = 0;
    for (int64_t j = 0; j < k; ++j) {
        const double v = logits.get_as_double(row * k + j);
        if (v > target || (v == target && j < label)) ++rank;
    }
    return rank;
}

double pct(int64_t a, int64_t b) { return b > 0 ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0; }

Status run_eval(const EvalOptions& o) {
    QAT_RETURN_IF_ERROR(check_engine_flags(o.engine));
    if (o.batch < 0) return invalid_argument("--batch must be >= 1, got ", o.batch);
    if (o.limit < 0) return invalid_argument("--limit must be >= 0, got ", o.limit);
    data::Layout layout;
    if (o.layout == "NCHW")
        layout = data::Layout::kNCHW;
    else if (o.layout == "NHWC")
        layout = data::Layout::kNHWC;
    else
        return invalid_argument("--layout must be NCHW or NHWC, got '", o.layout, "'");

    // Data first: a bad --data fails before a model is built.
    QAT_ASSIGN_OR_RETURN(data::DataSpec spec, data::parse_data_spec(o.data));
    QAT_ASSIGN_OR_RETURN(data::Split split, data::parse_split(o.split));
    QAT_ASSIGN_OR_RETURN(data::DatasetPtr ds, data::open_dataset(spec, split));
    if (o.limit > 0 && o.limit < ds->size()) {
        std::vector<int64_t> idx(static_cast<size_t>(o.limit));
        std::iota(idx.begin(), idx.end(), 0);
        QAT_ASSIGN_OR_RETURN(ds, data::make_subset(ds, idx));
    }

    engine::EngineOptions eo = to_engine_options(o.engine);
    eo.batch = 0;  // eval feeds its own batches; an engine file keeps its stored batch
    QAT_ASSIGN_OR_RETURN(engine::OpenedModel m, engine::open_model_or_engine(o.model, eo));
    engine::Engine& e = m.engine;
    std::vector<const ir::Value*> ins;
    for (const ir::Value* v : e.input_values())
        if (!v->is_constant()) ins.push_back(v);
    if (ins.size() != 1)
        return invalid_argument(o.model, ": eval needs a model with one input, this one has ", ins.size());
    const ir::Value* input = ins[0];
    if (input->dtype() != DataType::kFloat32 && input->dtype() != DataType::kUndefined)
        return invalid_argument(o.model, ": input '", input->name(), "' has dtype ", dtype_name(input->dtype()),
                                ", eval feeds float32 images");
    if (!input->shape().rank_known() || input->shape().rank() < 1)
        return invalid_argument(o.model, ": input '", input->name(), "' has no known rank");

    // Batch: a static batch dim of the model fixes it (the last batch is padded); else --batch.
    const Dim& bd = input->shape()[0];
    int64_t batch = o.batch > 0 ? o.batch : 64;
    const bool fixed = bd.is_static();
    if (fixed) {
        if (o.batch > 0 && o.batch != bd.value)
            return invalid_argument(o.model, ": input '", input->name(), "' has a fixed batch of ", bd.value,
                                    " (shape ", input->shape().to_string(), "), --batch asks for ", o.batch);
        batch = bd.value;
    }

    data::LoaderOptions lo;
    lo.batch_size = batch;
    lo.preprocess = data::default_preprocess(ds->sample_dtype());
    if (o.scale >= 0.0f) lo.preprocess.scale = o.scale;
    lo.preprocess.mean = o.mean;
    lo.preprocess.std = o.std;
    lo.preprocess.layout = layout;
    lo.preprocess.to_rgb = o.to_rgb;
    QAT_ASSIGN_OR_RETURN(auto loader, data::Loader::create(ds, lo));
    QAT_RETURN_IF_ERROR(data::check_input_shape(loader->sample_dims(), input->shape(), input->name(), batch));

    int64_t classes = -1;
    Counts c;
    ProgressBar bar("eval", loader->num_samples(), {.quiet = o.quiet});
    const auto t0 = std::chrono::steady_clock::now();
    loader->start_epoch(0);
    data::Batch b;
    std::vector<int64_t> in_dims = loader->batch_dims();
    Tensor padded;
    for (;;) {
        QAT_ASSIGN_OR_RETURN(bool more, loader->next(&b));
        if (!more) break;
        const int64_t n = b.size();
        Tensor x = b.images;
        if (fixed && n < batch) {
            // The last, partial batch of a fixed-batch model: pad with zeros, ignore the padding.
            if (!padded.defined()) padded = Tensor::zeros(DataType::kFloat32, in_dims);
            std::fill(padded.data<float>(), padded.data<float>() + padded.numel(), 0.0f);
            std::copy(b.images.data<float>(), b.images.data<float>() + b.images.numel(), padded.data<float>());
            x = padded;
        }
        std::vector<Tensor> feeds(e.input_names().size());
        for (size_t i = 0; i < feeds.size(); ++i)
            if (e.input_names()[i] == input->name()) feeds[i] = x;
        auto outs = e.run(feeds);
        if (!outs.ok())
            return std::move(outs).take_status().with_context("while running batch " + std::to_string(b.number));
        const Tensor& logits = (*outs)[0];
        if (logits.rank() < 2 || logits.dim(0) != x.dim(0) || logits.numel() % x.dim(0) != 0)
            return invalid_argument(o.model, ": output '", e.output_names()[0], "' has shape ",
                                    dims_to_string(logits.dims()), ", expected [batch, classes]");
        const int64_t k = logits.numel() / x.dim(0);
        if (classes < 0) {
            classes = k;
            for (size_t d = 2; d < logits.rank(); ++d)
                if (logits.dim(d) != 1)
                    return invalid_argument(o.model, ": output '", e.output_names()[0], "' has shape ",
                                            dims_to_string(logits.dims()), ", expected [batch, classes]");
            QAT_RETURN_IF_ERROR(data::check_labels(*ds, classes));
            c.class_samples.assign(static_cast<size_t>(classes), 0);
            c.class_top1.assign(static_cast<size_t>(classes), 0);
        }
        if (!is_float(logits.dtype()) && !is_quantized_type(logits.dtype()))
            return invalid_argument(o.model, ": output '", e.output_names()[0], "' has dtype ",
                                    dtype_name(logits.dtype()), ", expected scores");
        const int64_t* labels = b.labels.data<int64_t>();
        for (int64_t i = 0; i < n; ++i) {
            const int64_t label = labels[i];
            const int64_t r = rank_of_label(logits, i, k, label);
            ++c.samples;
            ++c.class_samples[static_cast<size_t>(label)];
            if (r == 0) {
                ++c.top1;
                ++c.class_top1[static_cast<size_t>(label)];
            }
            if (r < 5) ++c.top5;
        }
        bar.advance(n);
        bar.set_field("top1", pct(c.top1, c.samples), 2);
    }
    bar.finish();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (c.samples == 0) return invalid_argument("the data set gave no samples");

    const auto& names = ds->class_names();
    if (o.json) {
        nlohmann::json per = nlohmann::json::array();
        for (int64_t k = 0; k < classes; ++k) {
            nlohmann::json j = {
                {"class", k}, {"samples", c.class_samples[k]}, {"top1", pct(c.class_top1[k], c.class_samples[k])}};
            if (static_cast<size_t>(k) < names.size()) j["name"] = names[k];
            per.push_back(j);
        }
        nlohmann::json out = {{"model", o.model},
                              {"data", spec.to_string()},
                              {"split", data::split_name(split)},
                              {"samples", c.samples},
                              {"top1", pct(c.top1, c.samples)},
                              {"top5", pct(c.top5, c.samples)},
                              {"per_class", per},
                              {"batch", batch},
                              {"threads", e.threads()},
                              {"seconds", secs},
                              {"throughput_per_s", secs > 0 ? c.samples / secs : 0.0}};
        std::printf("%s\n", out.dump(2).c_str());
        return OkStatus();
    }
    std::printf("%s on %s (%s): %lld samples, batch %lld, %.2f s (%.0f samples/s)\n", o.model.c_str(),
                spec.to_string().c_str(), data::split_name(split), static_cast<long long>(c.samples),
                static_cast<long long>(batch), secs, secs > 0 ? c.samples / secs : 0.0);
    std::printf("top-1: %.2f%%\ntop-5: %.2f%%\n\n", pct(c.top1, c.samples), pct(c.top5, c.samples));
    std::printf("%-6s %-14s %8s %8s\n", "class", "name", "samples", "top-1");
    for (int64_t k = 0; k < classes; ++k)
        std::printf("%-6lld %-14s %8lld %7.2f%%\n", static_cast<long long>(k),
                    static_cast<size_t>(k) < names.size() ? names[k].c_str() : "",
                    static_cast<long long>(c.class_samples[k]), pct(c.class_top1[k], c.class_samples[k]));
    return OkStatus();
}

}  // namespace

void add_eval_command(CLI::App& app) {
    auto opts = std::make_shared<EvalOptions>();
    auto* sub = app.add_subcommand("eval", "Top-1 / top-5 / per-class accuracy of a model or engine on a data set");
    sub->add_option("model", opts->model, "ONNX model (built on the fly) or engine file")->required();
    sub->add_option("--data", opts->data,
                    "Data set: fashion-mnist, idx:DIR, cifar:DIR, folder:DIR, npy:FILE[,LABELS.npy]")
        ->required();
    sub->add_option("--split", opts->split, "train or test")->capture_default_str();
    sub->add_option("--batch", opts->batch, "Batch size (default 64; a model with a fixed batch uses its own)")
        ->check(CLI::PositiveNumber);
    sub->add_option("--limit", opts->limit, "Evaluate only the first N samples (0: all)")
        ->check(CLI::NonNegativeNumber);
    add_engine_flags(sub, &opts->engine, false);
    sub->add_option("--scale", opts->scale, "Preprocessing: multiply raw samples by S (default 1/255 for pixels)")
        ->group("Preprocessing");
    sub->add_option("--mean", opts->mean, "Preprocessing: per-channel mean after scale")
        ->delimiter(',')
        ->group("Preprocessing");
    sub->add_option("--std", opts->std, "Preprocessing: per-channel std after scale")
        ->delimiter(',')
        ->group("Preprocessing");
    sub->add_option("--layout", opts->layout, "Preprocessing: NCHW or NHWC")
        ->capture_default_str()
        ->group("Preprocessing");
    sub->add_flag("--to-rgb", opts->to_rgb, "Preprocessing: repeat a grey channel into 3")->group("Preprocessing");
    sub->add_flag("--json", opts->json, "Print one JSON object (top1, top5 in percent, samples, per_class, ...)");
    sub->add_flag("-q,--quiet", opts->quiet, "No progress bar");
    sub->callback([opts] { run_command("eval", [&] { return run_eval(*opts); }); });
}

}  // namespace qat::cli
