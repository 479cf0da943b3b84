// The training loop (train.h): data, module, optimizer, schedule, validation, checkpoints,
// signals and write-back.
#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <thread>

#include "core/file_util.h"
#include "core/logging.h"
#include "core/progress.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/random.h"
#include "passes/fold_batchnorm.h"
#include "passes/pass.h"
#include "passes/quant/strip_qdq.h"
#include "quant/calibrated.h"
#include "train/checkpoint.h"
#include "train/graph_module.h"
#include "train/torch_util.h"
#include "train/train.h"
#include "train/write_back.h"

namespace qat::train {

const char* optimizer_name(OptimizerKind k) { return k == OptimizerKind::kAdam ? "adam" : "sgd"; }

Result<OptimizerKind> parse_optimizer(const std::string& s) {
    if (s == "sgd") return OptimizerKind::kSgd;
    if (s == "adam") return OptimizerKind::kAdam;
    return invalid_argument("optimizer '", s, "' is not one of sgd, adam");
}

int set_training_threads(int n) {
    if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(n);
    return at::get_num_threads();
}

std::string openblas_coretype() {
    using Fn = char* (*)();
    auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
    if (!fn) return "";
    const char* name = fn();
    return name ? name : "";
}

std::string preferred_openblas_coretype() {
    const std::string current = openblas_coretype();
    if (current.empty()) return "";
    std::string want;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
        want = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        want = "Haswell";
    // OpenBLAS reports names in its own case ("Haswell", "SkylakeX", "Zen"): compare loosely.
    auto lower = [](std::string s) {
        for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return s;
    };
    if (want.empty() || lower(want) == lower(current)) return "";
    // A newer core than we know of (Cooperlake, SapphireRapids) is already at least as good.
    if (want == "SkylakeX" && (lower(current) == "cooperlake" || lower(current) == "sapphirerapids")) return "";
    return want;
}

namespace {

using detail::FakeQuantizer;
using detail::GraphModule;
using detail::guard_torch;
using json = nlohmann::json;

std::atomic<int> g_signal{0};
extern "C" void qat_train_on_signal(int sig) { g_signal.store(sig); }

// SIGINT / SIGTERM set a flag the loop checks after every step; the previous handlers come back
// when training ends.
class SignalScope {
  public:
    SignalScope() {
        g_signal.store(0);
        struct sigaction sa {};
        sa.sa_handler = qat_train_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, &old_int_);
        sigaction(SIGTERM, &sa, &old_term_);
    }
    ~SignalScope() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }

  private:
    struct sigaction old_int_ {
    }, old_term_{};
};

uint64_t fnv1a(const std::string& s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

std::string structure_fingerprint(const ir::Graph& g) {
    std::string s;
    for (const ir::Value* v : g.inputs()) s += "in:" + v->name() + ";";
    for (const ir::Value* v : g.outputs()) s += "out:" + v->name() + ";";
    for (const ir::Node* n : g.nodes()) {
        s += n->op_type() + "|" + n->name() + "|";
        for (const ir::Value* v : n->inputs()) s += (v ? v->name() : "") + ",";
        s += ";";
    }
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a(s)));
    return buf;
}

double pct(int64_t a, int64_t b) { return b > 0 ? 100.0 * static_cast<double>(a) / static_cast<double>(b) : 0.0; }

json record_json(const EpochRecord& r) {
    json j = {{"epoch", r.epoch},
              {"steps", r.steps},
              {"lr", r.lr},
              {"train_loss", r.train_loss},
              {"train_top1", r.train_top1},
              {"seconds", r.seconds},
              {"samples_per_second", r.samples_per_second},
              {"best", r.best}};
    if (r.val_top1 >= 0) {
        j["val_loss"] = r.val_loss;
        j["val_top1"] = r.val_top1;
    }
    return j;
}

EpochRecord record_from_json(const json& j) {
    EpochRecord r;
    r.epoch = j.value("epoch", int64_t{0});
    r.steps = j.value("steps", int64_t{0});
    r.lr = j.value("lr", 0.0);
    r.train_loss = j.value("train_loss", 0.0);
    r.train_top1 = j.value("train_top1", 0.0);
    r.val_loss = j.value("val_loss", 0.0);
    r.val_top1 = j.value("val_top1", -1.0);
    r.seconds = j.value("seconds", 0.0);
    r.samples_per_second = j.value("samples_per_second", 0.0);
    r.best = j.value("best", false);
    return r;
}

Tensor floats_tensor(const std::vector<float>& v) { return Tensor::from_vector<float>({(int64_t)v.size()}, v); }

struct EvalResult {
    double loss = 0, top1 = 0;
    int64_t samples = 0;
    bool interrupted = false;
};

class Trainer {
  public:
    Trainer(ir::Graph& graph, const TrainOptions& o) : graph_(graph), o_(o) {}

    Result<TrainSummary> run() {
        SignalScope signals;
        summary_.threads = set_training_threads(o_.threads);
        Status s = guard_torch("training", [&] { return run_inner(); });
        if (!s.ok()) return s;
        return summary_;
    }

  private:
    // ---- setup ----
    Status check_model_kind() {
        const bool has_qdq = !passes::quant::find_quantization_nodes(graph_).empty();
        const std::string name = o_.model_name.empty() ? "the model" : o_.model_name;
        if (o_.finetune && !has_qdq)
            return invalid_argument(name,
                                    " has no QuantizeLinear / DequantizeLinear nodes: place them with `qat "
                                    "quantize` first, or train it in FP32 with `qat train`");
        if (!o_.finetune && has_qdq)
            return invalid_argument(name,
                                    " holds Q/DQ nodes: `qat train` trains FP32 models; use `qat finetune` for "
                                    "quantization-aware training");
        return OkStatus();
    }

    Status check_options() {
        if (o_.batch_size < 1) return invalid_argument("--batch must be >= 1, got ", o_.batch_size);
        if (o_.steps < 0) return invalid_argument("--steps must be >= 0, got ", o_.steps);
        if (o_.steps == 0 && o_.epochs < 1) return invalid_argument("--epochs must be >= 1, got ", o_.epochs);
        if (!(o_.lr > 0.0) || !std::isfinite(o_.lr)) return invalid_argument("--lr must be > 0, got ", o_.lr);
        if (o_.momentum < 0.0 || o_.momentum >= 1.0)
            return invalid_argument("--momentum must be in [0, 1), got ", o_.momentum);
        if (o_.weight_decay < 0.0) return invalid_argument("--weight-decay must be >= 0, got ", o_.weight_decay);
        if (o_.clip_grad_norm < 0.0) return invalid_argument("--clip-grad-norm must be >= 0, got ", o_.clip_grad_norm);
        if (o_.checkpoint_every < 0) return invalid_argument("--checkpoint-every must be >= 0");
        if (o_.calib_batches < 1) return invalid_argument("--calib-batches must be >= 1, got ", o_.calib_batches);
        if (!(o_.module.ema_momentum > 0.0f && o_.module.ema_momentum <= 1.0f))
            return invalid_argument("--ema-momentum must be in (0, 1], got ", o_.module.ema_momentum);
        if (o_.gamma <= 0.0) return invalid_argument("--gamma must be > 0, got ", o_.gamma);
        if (!o_.checkpoint.empty())
            QAT_RETURN_IF_ERROR(check_writable_file(o_.checkpoint).with_context("--checkpoint"));
        if (!o_.log_path.empty()) QAT_RETURN_IF_ERROR(check_writable_file(o_.log_path).with_context("--log"));
        return OkStatus();
    }

    // A copy of the graph to train: BN folded when asked (in the caller's graph too, so the
    // written model matches), a final Softmax bypassed so the loss sees logits.
    Status prepare_graph() {
        if (o_.fold_bn) {
            passes::PassManager pm;
            pm.add(passes::make_fold_batchnorm_pass());
            passes::PassContext ctx;
            auto r = pm.run(graph_, ctx);
            if (!r.ok()) return std::move(r).take_status().with_context("while folding BatchNormalization (--fold-bn)");
            notes_.push_back(*r ? "BatchNormalization folded into the preceding convolutions"
                                : "--fold-bn: nothing to fold");
        }
        train_graph_ = graph_.clone();
        if (train_graph_->outputs().empty()) return invalid_model("the model has no outputs");
        ir::Value* out = train_graph_->outputs()[0];
        ir::Node* p = out->producer();
        if (p && p->op_type() == "Softmax" && p->domain().empty() && p->input(0)) {
            const int64_t rank = out->shape().rank_known() ? static_cast<int64_t>(out->shape().rank()) : -1;
            int64_t axis = p->attr_int("axis", p->opset() != 0 && p->opset() < 13 ? 1 : -1);
            if (rank > 0 && axis < 0) axis += rank;
            if (rank == 2 && axis == 1) {
                train_graph_->replace_output(0, p->input(0));
                notes_.push_back("the final Softmax '" + p->name() +
                                 "' is bypassed for the loss (cross-entropy on its input)");
            }
        }
        return OkStatus();
    }

    Status open_data() {
        QAT_ASSIGN_OR_RETURN(data::DataSpec spec, data::parse_data_spec(o_.data));
        QAT_ASSIGN_OR_RETURN(data::Split tsplit, data::parse_split(o_.train_split));
        QAT_ASSIGN_OR_RETURN(train_ds_, data::open_dataset(spec, tsplit));
        if (o_.train_limit > 0 && o_.train_limit < train_ds_->size()) {
            QAT_ASSIGN_OR_RETURN(train_ds_, data::make_subset(train_ds_, data::select_subset(train_ds_->size(),
                                                                                             o_.train_limit, o_.seed)));
        }
        if (o_.validate) {
            QAT_ASSIGN_OR_RETURN(data::Split vsplit, data::parse_split(o_.val_split));
            QAT_ASSIGN_OR_RETURN(val_ds_, data::open_dataset(spec, vsplit));
            if (o_.val_limit > 0 && o_.val_limit < val_ds_->size()) {
                std::vector<int64_t> idx(static_cast<size_t>(o_.val_limit));
                std::iota(idx.begin(), idx.end(), 0);
                QAT_ASSIGN_OR_RETURN(val_ds_, data::make_subset(val_ds_, idx));
            }
        }
        data::Preprocess pre = data::default_preprocess(train_ds_->sample_dtype());
        if (o_.scale >= 0.0f) pre.scale = o_.scale;
        pre.mean = o_.mean;
        pre.std = o_.std;
        data::LoaderOptions lo;
        lo.batch_size = o_.batch_size;
        lo.drop_last = true;
        lo.shuffle = true;
        lo.seed = o_.seed;
        lo.preprocess = pre;
        lo.augment.random_crop = o_.random_crop;
        lo.augment.padding = o_.crop_padding;
        lo.augment.hflip = o_.hflip;
        QAT_ASSIGN_OR_RETURN(train_loader_, data::Loader::create(train_ds_, lo));
        if (train_loader_->num_batches() < 1)
            return invalid_argument("the training set has ", train_ds_->size(), " samples, fewer than one batch of ",
                                    o_.batch_size, ": lower --batch");
        data::LoaderOptions vo = lo;
        vo.drop_last = false;
        vo.shuffle = false;
        vo.augment = {};
        if (val_ds_) {
            QAT_ASSIGN_OR_RETURN(val_loader_, data::Loader::create(val_ds_, vo));
        }
        calib_options_ = vo;
        calib_options_.shuffle = true;  // a seeded sample of the training set, not its first classes
        return OkStatus();
    }

    Status build_module() {
        ModuleOptions mo = o_.module;
        mo.seed = o_.seed;
        if (!o_.finetune) mo.fake_quant = false;
        auto m = GraphModule::build(*train_graph_, mo);
        if (!m.ok())
            return std::move(m).take_status().with_context("while preparing " + model_name() + " for training");
        module_ = std::move(m).value();
        for (const std::string& n : module_->notes()) notes_.push_back(n);
        summary_.quantizers = static_cast<int64_t>(module_->quantizers().size());
        if (module_->input_names().size() != 1)
            return invalid_argument(model_name(), " has ", module_->input_names().size(),
                                    " inputs; training feeds one (the images)");
        const ir::Value* in = train_graph_->find_value(module_->input_names()[0]);
        QAT_RETURN_IF_ERROR(
            data::check_input_shape(train_loader_->sample_dims(), in->shape(), in->name(), o_.batch_size)
                .with_context("data " + o_.data + " and " + model_name()));
        if (in->dtype() != DataType::kFloat32 && in->dtype() != DataType::kUndefined)
            return invalid_argument(model_name(), ": input '", in->name(), "' has dtype ", dtype_name(in->dtype()),
                                    ", training feeds float32 images");
        const int64_t fixed_batch =
            in->shape().rank_known() && in->shape().rank() > 0 && in->shape()[0].is_static() ? in->shape()[0].value : 0;
        if (fixed_batch > 0 && val_loader_ && val_ds_->size() % fixed_batch != 0)
            return invalid_argument(model_name(), " has a fixed batch of ", fixed_batch, " and the validation set's ",
                                    val_ds_->size(), " samples do not fill whole batches: use --val-limit");
        // Classes: the first output's size per sample (static dims, else one probe batch).
        const ir::Value* out = train_graph_->outputs()[0];
        classes_ = -1;
        if (auto d = out->shape().static_dims(); d && !d->empty()) {
            classes_ = 1;
            for (size_t i = 1; i < d->size(); ++i) classes_ *= (*d)[i];
        }
        if (classes_ < 0 || (out->shape().rank_known() && out->shape().rank() > 0 && !out->shape()[0].is_static())) {
            data::Batch b;
            train_loader_->start_epoch(0);
            QAT_ASSIGN_OR_RETURN(bool more, train_loader_->next(&b));
            if (!more) return invalid_argument("the training set is empty");
            at::NoGradGuard ng;
            module_->set_training(false);
            QAT_ASSIGN_OR_RETURN(std::vector<at::Tensor> outs, module_->forward({images_of(b)}));
            if (outs.empty() || outs[0].dim() < 1 || outs[0].size(0) != b.size())
                return invalid_argument(model_name(), ": the first output is not [batch, classes]");
            classes_ = outs[0].numel() / b.size();
        }
        if (classes_ < 2)
            return invalid_argument(model_name(), ": the first output has ", classes_,
                                    " value(s) per sample; training needs [batch, classes] logits");
        QAT_RETURN_IF_ERROR(data::check_labels(*train_ds_, classes_).with_context("training data " + o_.data));
        if (val_ds_)
            QAT_RETURN_IF_ERROR(data::check_labels(*val_ds_, classes_).with_context("validation data " + o_.data));
        params_ = module_->trainable_tensors();
        for (size_t i = 0; i < params_.size(); ++i) {
            decay_.push_back(false);
            for (const detail::Param& p : module_->params())
                if (p.tensor.unsafeGetTensorImpl() == params_[i].unsafeGetTensorImpl()) decay_.back() = p.decay;
            buf1_.push_back(at::zeros_like(params_[i], at::TensorOptions().requires_grad(false)));
            if (o_.optimizer == OptimizerKind::kAdam)
                buf2_.push_back(at::zeros_like(params_[i], at::TensorOptions().requires_grad(false)));
        }
        return OkStatus();
    }

    std::string model_name() const { return o_.model_name.empty() ? "the model" : o_.model_name; }

    static at::Tensor images_of(const data::Batch& b) {
        return at::from_blob(const_cast<float*>(b.images.data<float>()), b.images.dims(),
                             at::TensorOptions().dtype(at::kFloat));
    }
    static at::Tensor labels_of(const data::Batch& b) {
        return at::from_blob(const_cast<int64_t*>(b.labels.data<int64_t>()), {b.size()},
                             at::TensorOptions().dtype(at::kLong));
    }

    // Quantizers that have no range yet (an uncalibrated model) get one from a few batches.
    Status calibrate_unranged() {
        std::vector<FakeQuantizer*> todo;
        for (auto& q : module_->quantizers())
            if (!q->cfg.weight && q->cfg.state == QuantizerState::kQuantize && !q->initialized) todo.push_back(q.get());
        if (todo.empty()) return OkStatus();
        QAT_ASSIGN_OR_RETURN(auto loader, data::Loader::create(train_ds_, calib_options_));
        for (FakeQuantizer* q : todo) q->cfg.state = QuantizerState::kCalibrate;
        at::NoGradGuard ng;
        module_->set_training(false);
        loader->start_epoch(0);
        data::Batch b;
        int64_t n = 0;
        for (; n < o_.calib_batches; ++n) {
            QAT_ASSIGN_OR_RETURN(bool more, loader->next(&b));
            if (!more) break;
            QAT_RETURN_IF_ERROR(module_->forward({images_of(b)}).status());
        }
        for (FakeQuantizer* q : todo) {
            q->cfg.state = QuantizerState::kQuantize;
            if (q->learned()) q->init_learned_from_range();
        }
        notes_.push_back(std::to_string(todo.size()) + " activation quantizer(s) without a range took the max of " +
                         std::to_string(n) + " training batch(es) (an uncalibrated model)");
        return OkStatus();
    }

    // ---- one step ----
    Result<double> train_step(const data::Batch& b, double lr, int64_t* correct) {
        module_->set_training(true);
        module_->set_bn_frozen(o_.freeze_bn_after >= 0 && step_ >= o_.freeze_bn_after);
        module_->set_step(step_);
        for (at::Tensor& p : params_)
            if (p.grad().defined()) p.mutable_grad().zero_();
        QAT_ASSIGN_OR_RETURN(std::vector<at::Tensor> outs, module_->forward({images_of(b)}));
        at::Tensor labels = labels_of(b);
        at::Tensor logits = outs[0].reshape({b.size(), -1});
        at::Tensor loss = at::nll_loss(at::log_softmax(logits, 1), labels);
        const double lv = loss.item<double>();
        if (!std::isfinite(lv))
            return invalid_argument("the loss became ", lv, " at step ", step_ + 1, " (lr ", lr,
                                    "): lower --lr or use --clip-grad-norm");
        loss.backward();
        {
            at::NoGradGuard ng;
            *correct = logits.argmax(1).eq(labels).sum().item<int64_t>();
            if (o_.clip_grad_norm > 0.0) {
                double total = 0.0;
                for (at::Tensor& p : params_)
                    if (p.grad().defined()) total += p.grad().pow(2).sum().item<double>();
                const double norm = std::sqrt(total);
                if (norm > o_.clip_grad_norm) {
                    const double f = o_.clip_grad_norm / (norm + 1e-6);
                    for (at::Tensor& p : params_)
                        if (p.grad().defined()) p.mutable_grad().mul_(f);
                }
            }
            ++adam_t_;
            for (size_t i = 0; i < params_.size(); ++i) {
                at::Tensor& p = params_[i];
                if (!p.grad().defined()) continue;
                at::Tensor g = p.grad();
                if (decay_[i] && o_.weight_decay > 0.0) g = g.add(p.detach(), o_.weight_decay);
                if (o_.optimizer == OptimizerKind::kSgd) {
                    // PyTorch's SGD: buf = momentum * buf + g (buf starts at g); p -= lr * buf.
                    if (o_.momentum > 0.0) {
                        buf1_[i].mul_(o_.momentum).add_(g);
                        p.detach().add_(buf1_[i], -lr);
                    } else {
                        p.detach().add_(g, -lr);
                    }
                } else {
                    buf1_[i].mul_(o_.adam_beta1).add_(g, 1.0 - o_.adam_beta1);
                    buf2_[i].mul_(o_.adam_beta2).addcmul_(g, g, 1.0 - o_.adam_beta2);
                    const double bc1 = 1.0 - std::pow(o_.adam_beta1, static_cast<double>(adam_t_));
                    const double bc2 = 1.0 - std::pow(o_.adam_beta2, static_cast<double>(adam_t_));
                    at::Tensor denom = (buf2_[i] / bc2).sqrt_().add_(o_.adam_eps);
                    p.detach().addcdiv_(buf1_[i], denom, -lr / bc1);
                }
            }
            for (auto& q : module_->quantizers()) q->clamp_learned_scale();
        }
        return lv;
    }

    Result<EvalResult> evaluate(const std::string& label) {
        EvalResult r;
        if (!val_loader_) return r;
        at::NoGradGuard ng;
        module_->set_training(false);
        ProgressBar bar(label, val_loader_->num_samples(), {.quiet = o_.quiet});
        val_loader_->start_epoch(0);
        data::Batch b;
        double loss_sum = 0.0;
        int64_t correct = 0;
        for (;;) {
            if (g_signal.load() != 0) {
                r.interrupted = true;
                return r;
            }
            QAT_ASSIGN_OR_RETURN(bool more, val_loader_->next(&b));
            if (!more) break;
            QAT_ASSIGN_OR_RETURN(std::vector<at::Tensor> outs, module_->forward({images_of(b)}));
            at::Tensor logits = outs[0].reshape({b.size(), -1});
            at::Tensor labels = labels_of(b);
            loss_sum += at::nll_loss(at::log_softmax(logits, 1), labels, {}, at::Reduction::Sum).item<double>();
            correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
            r.samples += b.size();
            bar.advance(b.size());
            bar.set_field("top1", pct(correct, r.samples), 2);
        }
        bar.finish();
        r.loss = r.samples ? loss_sum / static_cast<double>(r.samples) : 0.0;
        r.top1 = pct(correct, r.samples);
        return r;
    }

    // ---- state ----
    TrainedState trained_state() const {
        TrainedState s;
        for (const detail::Param& p : module_->params()) {
            s.params.push_back({p.name, detail::float_from_torch(p.tensor), p.dq_node});
        }
        for (const detail::Buffer& b : module_->buffers())
            s.buffers.emplace_back(b.name, detail::float_from_torch(b.tensor));
        std::map<const FakeQuantizer*, const detail::Param*> weight_of;
        for (const detail::Param& p : module_->params())
            if (FakeQuantizer* q = module_->weight_quantizer(p.name)) weight_of[q] = &p;
        for (const auto& q : module_->quantizers()) {
            TrainedQuantizer t;
            t.node = q->cfg.name;
            t.weight = q->cfg.weight;
            t.disabled = q->cfg.state == QuantizerState::kDisabled;
            t.initialized = q->initialized || q->learned() || q->cfg.weight;
            auto it = weight_of.find(q.get());
            t.scale = it != weight_of.end() ? q->current_scale(it->second->tensor) : q->current_scale();
            t.axis = q->cfg.axis;
            t.qmin = q->cfg.qmin;
            t.qmax = q->cfg.qmax;
            t.zero_point = q->cfg.zero_point;
            s.quantizers.push_back(std::move(t));
        }
        return s;
    }

    json options_json() const {
        return {{"command", o_.finetune ? "finetune" : "train"},
                {"data", o_.data},
                {"train_split", o_.train_split},
                {"train_limit", o_.train_limit},
                {"batch_size", o_.batch_size},
                {"seed", o_.seed},
                {"optimizer", optimizer_name(o_.optimizer)},
                {"fold_bn", o_.fold_bn},
                {"random_crop", o_.random_crop},
                {"hflip", o_.hflip}};
    }

    Checkpoint make_checkpoint() const {
        Checkpoint c;
        json recs = json::array();
        for (const EpochRecord& r : summary_.epochs) recs.push_back(record_json(r));
        c.meta = {{"format", "qat.train_checkpoint"},
                  {"version", 1},
                  {"model", o_.model_name},
                  {"fingerprint", fingerprint_},
                  {"options", options_json()},
                  {"step", step_},
                  {"epoch", epoch_},
                  {"batch_in_epoch", batch_in_epoch_},
                  {"adam_t", adam_t_},
                  {"epoch_loss_sum", epoch_loss_sum_},
                  {"epoch_correct", epoch_correct_},
                  {"epoch_samples", epoch_samples_},
                  {"best_val_top1", summary_.best_val_top1},
                  {"best_epoch", summary_.best_epoch},
                  {"records", recs}};
        json qinit = json::object();
        for (const detail::Param& p : module_->params())
            c.tensors.emplace_back("param/" + p.name, detail::float_from_torch(p.tensor));
        for (const detail::Buffer& b : module_->buffers())
            c.tensors.emplace_back("buffer/" + b.name, detail::float_from_torch(b.tensor));
        for (size_t i = 0; i < params_.size(); ++i) {
            c.tensors.emplace_back("opt/" + std::to_string(i) + "/1", detail::float_from_torch(buf1_[i]));
            if (i < buf2_.size())
                c.tensors.emplace_back("opt/" + std::to_string(i) + "/2", detail::float_from_torch(buf2_[i]));
        }
        for (const auto& q : module_->quantizers()) {
            qinit[q->cfg.name] = q->initialized;
            if (q->initialized) c.tensors.emplace_back("quant/" + q->cfg.name + "/scale", floats_tensor(q->scale));
            if (q->learned())
                c.tensors.emplace_back("quant/" + q->cfg.name + "/learned", detail::float_from_torch(q->learned_scale));
        }
        c.meta["quantizer_initialized"] = qinit;
        if (best_state_) {
            for (const TrainedParam& p : best_state_->params) c.tensors.emplace_back("best/param/" + p.name, p.value);
            for (const auto& [n, t] : best_state_->buffers) c.tensors.emplace_back("best/buffer/" + n, t);
            json bq = json::object();
            for (const TrainedQuantizer& q : best_state_->quantizers) bq[q.node] = q.scale;
            c.meta["best_quantizer_scales"] = bq;
        }
        return c;
    }

    Status save(const std::string& why) {
        if (o_.checkpoint.empty()) return OkStatus();
        Status s = save_checkpoint(o_.checkpoint, make_checkpoint());
        if (!s.ok()) return s.with_context("while writing the checkpoint (" + why + ")");
        summary_.checkpoint_written = o_.checkpoint;
        QAT_VLOG("train") << "checkpoint " << o_.checkpoint << " at step " << step_ << " (" << why << ")";
        return OkStatus();
    }

    Status copy_into(at::Tensor& dst, const Tensor* src, const std::string& name, const std::string& what) {
        if (!src) return invalid_argument("checkpoint ", what, " lacks '", name, "'");
        if (src->dtype() != DataType::kFloat32 || src->dims() != dst.sizes().vec())
            return invalid_argument("checkpoint ", what, ": '", name, "' is ", src->desc(), ", the model needs ",
                                    dims_to_string(dst.sizes().vec()));
        at::NoGradGuard ng;
        QAT_ASSIGN_OR_RETURN(at::Tensor t, detail::to_torch(*src));
        dst.detach().copy_(t);
        return OkStatus();
    }

    Status restore(const Checkpoint& c) {
        const std::string what = "'" + o_.resume + "'";
        const json& m = c.meta;
        if (m.value("format", std::string()) != "qat.train_checkpoint")
            return invalid_argument("checkpoint ", what, " is not a training checkpoint");
        if (m.value("fingerprint", std::string()) != fingerprint_)
            return invalid_argument("checkpoint ", what, " was written for another model (",
                                    m.value("model", std::string("?")), "); resume needs the same model file");
        const json opts = options_json();
        const json& saved = m.contains("options") ? m["options"] : json::object();
        for (auto it = opts.begin(); it != opts.end(); ++it) {
            if (!saved.contains(it.key()) || saved[it.key()] != it.value())
                return invalid_argument("checkpoint ", what, " was written with ", it.key(), " = ",
                                        saved.contains(it.key()) ? saved[it.key()].dump() : "(unset)",
                                        ", this run has ", it.value().dump(), "; resume with the same setting");
        }
        try {
            step_ = m.at("step").get<int64_t>();
            epoch_ = m.at("epoch").get<int64_t>();
            batch_in_epoch_ = m.at("batch_in_epoch").get<int64_t>();
            adam_t_ = m.at("adam_t").get<int64_t>();
            epoch_loss_sum_ = m.at("epoch_loss_sum").get<double>();
            epoch_correct_ = m.at("epoch_correct").get<int64_t>();
            epoch_samples_ = m.at("epoch_samples").get<int64_t>();
            summary_.best_val_top1 = m.at("best_val_top1").get<double>();
            summary_.best_epoch = m.at("best_epoch").get<int64_t>();
            for (const json& r : m.at("records")) summary_.epochs.push_back(record_from_json(r));
        } catch (const std::exception& e) {
            return invalid_argument("checkpoint ", what, " is corrupt: its header lacks a field (", e.what(), ")");
        }
        if (step_ < 0 || epoch_ < 0 || batch_in_epoch_ < 0 || batch_in_epoch_ > train_loader_->num_batches())
            return invalid_argument("checkpoint ", what, " is corrupt: position step ", step_, " epoch ", epoch_,
                                    " batch ", batch_in_epoch_, " does not fit this data set");
        for (detail::Param& p : module_->params())
            QAT_RETURN_IF_ERROR(copy_into(p.tensor, c.find("param/" + p.name), "param/" + p.name, what));
        for (detail::Buffer& b : module_->buffers())
            QAT_RETURN_IF_ERROR(copy_into(b.tensor, c.find("buffer/" + b.name), "buffer/" + b.name, what));
        for (size_t i = 0; i < params_.size(); ++i) {
            const std::string n = "opt/" + std::to_string(i);
            QAT_RETURN_IF_ERROR(copy_into(buf1_[i], c.find(n + "/1"), n + "/1", what));
            if (i < buf2_.size()) QAT_RETURN_IF_ERROR(copy_into(buf2_[i], c.find(n + "/2"), n + "/2", what));
        }
        const json qinit = m.value("quantizer_initialized", json::object());
        for (auto& q : module_->quantizers()) {
            q->initialized = qinit.value(q->cfg.name, false);
            if (q->initialized) {
                const Tensor* t = c.find("quant/" + q->cfg.name + "/scale");
                if (!t || t->dtype() != DataType::kFloat32)
                    return invalid_argument("checkpoint ", what, " lacks the range of quantizer '", q->cfg.name, "'");
                q->scale = t->to_vector<float>();
            }
            if (q->learned())
                QAT_RETURN_IF_ERROR(copy_into(q->learned_scale, c.find("quant/" + q->cfg.name + "/learned"),
                                              "quant/" + q->cfg.name + "/learned", what));
        }
        if (o_.keep_best && c.find("best/param/" + module_->params().front().name)) {
            TrainedState b = trained_state();
            for (TrainedParam& p : b.params) {
                const Tensor* t = c.find("best/param/" + p.name);
                if (!t) return invalid_argument("checkpoint ", what, " lacks best/param/", p.name);
                p.value = t->clone();
            }
            for (auto& [n, t] : b.buffers) {
                const Tensor* s = c.find("best/buffer/" + n);
                if (!s) return invalid_argument("checkpoint ", what, " lacks best/buffer/", n);
                t = s->clone();
            }
            const json bq = m.value("best_quantizer_scales", json::object());
            for (TrainedQuantizer& q : b.quantizers)
                if (bq.contains(q.node)) q.scale = bq[q.node].get<std::vector<float>>();
            best_state_ = std::move(b);
        }
        notes_.push_back("resumed from " + o_.resume + " at step " + std::to_string(step_));
        return OkStatus();
    }

    Status write_log() {
        if (o_.log_path.empty()) return OkStatus();
        json recs = json::array();
        for (const EpochRecord& r : summary_.epochs) recs.push_back(record_json(r));
        json j = {{"format", "qat.train_log"},
                  {"command", o_.finetune ? "finetune" : "train"},
                  {"model", o_.model_name},
                  {"options",
                   {{"data", o_.data},
                    {"batch_size", o_.batch_size},
                    {"lr", o_.lr},
                    {"optimizer", optimizer_name(o_.optimizer)},
                    {"schedule", schedule_name(o_.schedule)},
                    {"seed", o_.seed},
                    {"threads", summary_.threads}}},
                  {"epochs", recs},
                  {"best_val_top1", summary_.best_val_top1},
                  {"best_epoch", summary_.best_epoch}};
        return write_file_atomic(o_.log_path, j.dump(2) + "\n").with_context("--log");
    }

    // ---- the run ----
    Status run_inner() {
        QAT_RETURN_IF_ERROR(check_model_kind());
        QAT_RETURN_IF_ERROR(check_options());
        Checkpoint resume;
        if (!o_.resume.empty()) {
            // Read before any long work: a corrupt checkpoint stops here, untouched.
            QAT_ASSIGN_OR_RETURN(resume, load_checkpoint(o_.resume));
        }
        QAT_RETURN_IF_ERROR(prepare_graph());
        fingerprint_ = structure_fingerprint(*train_graph_);
        QAT_RETURN_IF_ERROR(open_data());
        QAT_RETURN_IF_ERROR(build_module());

        const int64_t spe = train_loader_->num_batches();
        const int64_t total = o_.steps > 0 ? o_.steps : o_.epochs * spe;
        const int64_t num_epochs = (total + spe - 1) / spe;
        LrSchedule sched;
        sched.kind = o_.schedule;
        sched.base_lr = o_.lr;
        sched.total_steps = total;
        sched.steps_per_epoch = spe;
        sched.points = o_.piecewise.empty() ? default_piecewise(static_cast<double>(total) / static_cast<double>(spe))
                                            : o_.piecewise;
        sched.warmup_steps = o_.warmup_steps;
        sched.step_epochs = o_.step_epochs > 0 ? o_.step_epochs : std::max(1.0, static_cast<double>(num_epochs) / 3.0);
        sched.gamma = o_.gamma;

        if (!o_.resume.empty()) {
            QAT_RETURN_IF_ERROR(restore(resume));
        } else if (o_.finetune) {
            QAT_RETURN_IF_ERROR(calibrate_unranged());
        }
        summary_.first_step = step_;
        int64_t run_steps = 0;

        for (; epoch_ < num_epochs && !summary_.interrupted; ++epoch_) {
            const auto t0 = std::chrono::steady_clock::now();
            const int64_t epoch_batches = std::min(spe, total - epoch_ * spe);
            ProgressBar bar("epoch " + std::to_string(epoch_ + 1) + "/" + std::to_string(num_epochs),
                            epoch_batches * o_.batch_size, {.quiet = o_.quiet});
            train_loader_->start_epoch(epoch_);
            data::Batch b;
            // Resuming inside an epoch: the loader gives the same batches again; skip the done ones.
            for (int64_t k = 0; k < batch_in_epoch_; ++k) {
                QAT_ASSIGN_OR_RETURN(bool more, train_loader_->next(&b));
                if (!more) break;
            }
            bar.update(batch_in_epoch_ * o_.batch_size);
            double last_lr = sched.at(std::max<int64_t>(0, step_ - 1));
            int64_t epoch_run_samples = 0;
            while (step_ < total && batch_in_epoch_ < epoch_batches) {
                QAT_ASSIGN_OR_RETURN(bool more, train_loader_->next(&b));
                if (!more) break;
                last_lr = sched.at(step_);
                int64_t correct = 0;
                QAT_ASSIGN_OR_RETURN(double loss, train_step(b, last_lr, &correct));
                ++step_;
                ++batch_in_epoch_;
                ++run_steps;
                summary_.step_losses.push_back(loss);
                epoch_loss_sum_ += loss * static_cast<double>(b.size());
                epoch_correct_ += correct;
                epoch_samples_ += b.size();
                epoch_run_samples += b.size();
                bar.advance(b.size());
                bar.set_field("loss", epoch_loss_sum_ / static_cast<double>(epoch_samples_));
                bar.set_field("acc", pct(epoch_correct_, epoch_samples_), 2);
                bar.set_field("lr", last_lr, 3);
                if (o_.checkpoint_every > 0 && step_ % o_.checkpoint_every == 0 && step_ < total)
                    QAT_RETURN_IF_ERROR(save("step " + std::to_string(step_)));
                if (g_signal.load() != 0 || (o_.stop_after_steps >= 0 && run_steps >= o_.stop_after_steps)) {
                    summary_.interrupted = true;
                    break;
                }
            }
            bar.finish();
            if (summary_.interrupted) break;
            const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            QAT_ASSIGN_OR_RETURN(EvalResult ev, evaluate("validate " + std::to_string(epoch_ + 1)));
            if (ev.interrupted) {
                summary_.interrupted = true;
                break;
            }
            EpochRecord r;
            r.epoch = epoch_ + 1;
            r.steps = step_;
            r.lr = last_lr;
            r.train_loss = epoch_samples_ ? epoch_loss_sum_ / static_cast<double>(epoch_samples_) : 0.0;
            r.train_top1 = pct(epoch_correct_, epoch_samples_);
            r.seconds = secs;
            r.samples_per_second = secs > 0 ? static_cast<double>(epoch_run_samples) / secs : 0.0;
            if (val_loader_) {
                r.val_loss = ev.loss;
                r.val_top1 = ev.top1;
                if (ev.top1 > summary_.best_val_top1) {
                    summary_.best_val_top1 = ev.top1;
                    summary_.best_epoch = r.epoch;
                    r.best = true;
                    if (o_.keep_best) best_state_ = trained_state();
                }
            }
            summary_.epochs.push_back(r);
            QAT_LOG(kInfo) << "epoch " << r.epoch << ": loss " << r.train_loss << " train top-1 " << r.train_top1
                           << (r.val_top1 >= 0 ? " val top-1 " + std::to_string(r.val_top1) : std::string());
            batch_in_epoch_ = 0;
            epoch_loss_sum_ = 0.0;
            epoch_correct_ = 0;
            epoch_samples_ = 0;
            QAT_RETURN_IF_ERROR(write_log());
            // The state at the start of the next epoch.
            ++epoch_;
            Status s = save("end of epoch " + std::to_string(r.epoch));
            --epoch_;
            QAT_RETURN_IF_ERROR(s);
        }
        summary_.steps = step_;
        summary_.notes = notes_;
        if (summary_.interrupted) {
            QAT_RETURN_IF_ERROR(save(g_signal.load() ? "signal" : "stop"));
            return OkStatus();
        }
        const bool use_best = o_.keep_best && best_state_.has_value();
        TrainedState final_state = use_best ? *best_state_ : trained_state();
        summary_.final_val_top1 =
            use_best ? summary_.best_val_top1 : (summary_.epochs.empty() ? -1.0 : summary_.epochs.back().val_top1);
        QAT_RETURN_IF_ERROR(write_back(graph_, final_state).with_context("while writing the trained values back"));
        return OkStatus();
    }

    ir::Graph& graph_;
    const TrainOptions& o_;
    std::unique_ptr<ir::Graph> train_graph_;
    std::unique_ptr<GraphModule> module_;
    data::DatasetPtr train_ds_, val_ds_;
    std::unique_ptr<data::Loader> train_loader_, val_loader_;
    data::LoaderOptions calib_options_;
    int64_t classes_ = 0;
    std::vector<at::Tensor> params_, buf1_, buf2_;
    std::vector<bool> decay_;
    int64_t step_ = 0, epoch_ = 0, batch_in_epoch_ = 0, adam_t_ = 0;
    double epoch_loss_sum_ = 0.0;
    int64_t epoch_correct_ = 0, epoch_samples_ = 0;
    std::optional<TrainedState> best_state_;
    std::string fingerprint_;
    std::vector<std::string> notes_;
    TrainSummary summary_;
};

}  // namespace

Result<TrainSummary> run_training(ir::Graph& graph, const TrainOptions& options) {
    Trainer t(graph, options);
    return t.run();
}

}  // namespace qat::train
