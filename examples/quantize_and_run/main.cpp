// quantize_and_run: an FP32 ONNX classifier to an INT8 engine through qat's public API alone.
//
//   quantize_and_run MODEL.onnx DATA [--samples N] [--calib-samples N] [--method M] [--save-dir DIR]
//
// Loads MODEL.onnx, places Q/DQ (quantize), calibrates the activation scales on DATA's train
// split (a --data string of the qat command: fashion-mnist, npy:FILE[,LABELS.npy], ...), builds
// the INT8 engine, and runs it on N samples drawn (seed 0) from DATA's test split, printing one
// line per sample:
//   sample 0: label 9 top1 9 score 3.25
// and a last line "top1 7/8". With --save-dir it also writes the calibrated model
// (calibrated.onnx), the engine (model.engine), the input batch (input.npy) and the engine's
// first output (output.npy), so that the result can be checked with `qat run`.
#include <qat/qat.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace qa = qat::api;

namespace {

int fail(const std::string& what, const qa::Status& s) {
    std::fprintf(stderr, "quantize_and_run: %s: %s\n", what.c_str(), s.message().c_str());
    return 2;
}

int usage() {
    std::fprintf(stderr,
                 "usage: quantize_and_run MODEL.onnx DATA [--samples N] [--calib-samples N] [--method M] "
                 "[--save-dir DIR]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    std::string model_path, data, method = "entropy", save_dir;
    long samples = 8, calib_samples = 256;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a.rfind("--", 0) == 0) {
            if (i + 1 >= argc) return usage();
            std::string v = argv[++i];
            if (a == "--samples") {
                samples = std::atol(v.c_str());
            } else if (a == "--calib-samples") {
                calib_samples = std::atol(v.c_str());
            } else if (a == "--method") {
                method = v;
            } else if (a == "--save-dir") {
                save_dir = v;
            } else {
                return usage();
            }
        } else if (model_path.empty()) {
            model_path = a;
        } else if (data.empty()) {
            data = a;
        } else {
            return usage();
        }
    }
    if (model_path.empty() || data.empty() || samples < 1 || calib_samples < 1) return usage();
    std::printf("qat %s\n", qa::version());

    // 1. The FP32 model.
    qa::Result<qa::Model> model = qa::Model::load(model_path);
    if (!model.ok()) return fail("load", model.status());
    for (const auto& in : model->inputs())
        std::printf("input %s %s %s\n", in.name.c_str(), in.dtype.c_str(), in.shape_string().c_str());

    // 2. Q/DQ placement (TensorRT style); activation scales are placeholders until calibrated.
    qa::Result<qa::QuantizeReport> q = qa::quantize(*model);
    if (!q.ok()) return fail("quantize", q.status());
    std::printf("quantized: %d activation and %d weight Q/DQ pairs\n", q->activation_qdq, q->weight_qdq);

    // 3. Calibration on the train split.
    qa::DataSpec calib;
    calib.source = data;
    calib.split = "train";
    calib.samples = calib_samples;
    qa::CalibrateOptions co;
    co.method = method;
    qa::Result<qa::CalibrateReport> c = qa::calibrate(*model, calib, co);
    if (!c.ok()) return fail("calibrate", c.status());
    std::printf("calibrated: %s on %s, %lld tensors\n", c->method.c_str(), c->data.c_str(),
                static_cast<long long>(c->tensors));

    // 4. The INT8 engine.
    qa::Result<qa::Engine> engine = qa::Engine::build(*model);
    if (!engine.ok()) return fail("build", engine.status());
    std::printf("engine: %s\n", engine->backend_summary().c_str());

    // 5. Run it on a few samples of the test split.
    qa::DataSpec test;
    test.source = data;
    test.split = "test";
    test.samples = samples;
    qa::Result<qa::Samples> s = qa::load_samples(test);
    if (!s.ok()) return fail("data", s.status());
    qa::Result<std::vector<qa::FloatTensor>> out = engine->run({s->images});
    if (!out.ok()) return fail("run", out.status());
    const qa::FloatTensor& logits = (*out)[0];
    const int64_t n = s->images.shape[0];
    const int64_t k = logits.numel() / n;
    int64_t correct = 0;
    for (int64_t i = 0; i < n; ++i) {
        const int64_t top = logits.argmax_row(i);
        const int64_t label = s->labels[static_cast<size_t>(i)];
        correct += top == label;
        std::printf("sample %lld: label %lld top1 %lld score %.6g\n", static_cast<long long>(i),
                    static_cast<long long>(label), static_cast<long long>(top), logits.at(i * k + top));
    }
    std::printf("top1 %lld/%lld\n", static_cast<long long>(correct), static_cast<long long>(n));

    if (!save_dir.empty()) {
        const std::string d = save_dir + "/";
        if (auto st = model->save(d + "calibrated.onnx"); !st.ok()) return fail("save model", st);
        if (auto st = engine->save(d + "model.engine"); !st.ok()) return fail("save engine", st);
        if (auto st = qa::save_npy(d + "input.npy", s->images); !st.ok()) return fail("save input", st);
        if (auto st = qa::save_npy(d + "output.npy", logits); !st.ok()) return fail("save output", st);
        std::printf("wrote %s{calibrated.onnx,model.engine,input.npy,output.npy}\n", d.c_str());
    }
    return 0;
}
