#include "passes/pass.h"

#include <cstdio>

#include "core/logging.h"
#include "ir/text_form.h"
#include "ir/verify.h"

namespace qat::passes {

void PassContext::note_rewrite(const std::string& pass, const std::string& what) {
    ++rewrites[pass];
    QAT_VLOG("passes") << pass << ": " << what;
}

RuleSetPass::RuleSetPass(std::string name, std::vector<std::unique_ptr<RewriteRule>> rules)
    : name_(std::move(name)), rules_(std::move(rules)) {}

Result<bool> RuleSetPass::run(ir::Graph& graph, PassContext& ctx) {
    bool changed_any = false;
    for (int iter = 0; iter < ctx.max_iterations; ++iter) {
        bool changed = false;
        QAT_ASSIGN_OR_RETURN(std::vector<ir::Node*> order, graph.topo_order());
        // A rewrite may delete nodes later in `order`: restart the scan after each one.
        for (ir::Node* n : order) {
            for (auto& rule : rules_) {
                Match m;
                if (!rule->match(graph, *n, m)) continue;
                auto what = rule->apply(graph, m);
                if (!what.ok()) return std::move(what).take_status().with_context("in rule " + rule->name());
                ctx.note_rewrite(name_, rule->name() + ": " + *what);
                changed = true;
                break;
            }
            if (changed) break;
        }
        if (!changed) return changed_any;
        changed_any = true;
    }
    QAT_LOG(kWarning) << "pass " << name_ << " stopped after " << ctx.max_iterations
                      << " rewrites (iteration cap); the graph is valid but may not be fully rewritten";
    return changed_any;
}

void PassManager::add(std::unique_ptr<Pass> pass) { passes_.push_back(std::move(pass)); }

std::vector<std::string> PassManager::pass_names() const {
    std::vector<std::string> out;
    for (const auto& p : passes_) out.push_back(p->name());
    return out;
}

Result<bool> PassManager::run(ir::Graph& graph, PassContext& ctx) const {
    bool changed_any = false;
    for (const auto& p : passes_) {
        const std::string name = p->name();
        if (ctx.disabled.count(name)) {
            QAT_VLOG("passes") << "skipping disabled pass " << name;
            continue;
        }
        auto t0 = std::chrono::steady_clock::now();
        auto changed = p->run(graph, ctx);
        auto t1 = std::chrono::steady_clock::now();
        ctx.timings_ms[name] += std::chrono::duration<double, std::milli>(t1 - t0).count();
        if (!changed.ok()) return std::move(changed).take_status().with_context("in pass " + name);
        changed_any = changed_any || *changed;
        if (ctx.verify_each) {
            Status v = ir::verify(graph);
            if (!v.ok()) return std::move(v).with_context("graph broken after pass " + name);
        }
        if (!ctx.dump_after.empty() && ctx.dump_after == name) {
            std::string text = ir::print_graph(graph, {});
            if (ctx.dump)
                ctx.dump(name, text);
            else
                std::fprintf(stderr, "---- IR after %s ----\n%s\n", name.c_str(), text.c_str());
        }
    }
    return changed_any;
}

}  // namespace qat::passes
