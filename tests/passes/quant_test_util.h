// Helpers shared by the Q/DQ placement tests (tests/passes/quant_*_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>

#include "ir/graph.h"
#include "ir/verify.h"
#include "quant/quantize.h"

namespace qat::quant_test {

// For every node except Q/DQ and Constant: the input indices that read a DequantizeLinear output.
// Nodes with no such input map to an empty set, so a comparison with an expected table catches
// Q/DQ that should not be there as well as missing ones.
inline std::map<std::string, std::set<int>> qdq_inputs(const ir::Graph& g) {
    std::map<std::string, std::set<int>> out;
    for (const ir::Node* n : g.nodes()) {
        const std::string& op = n->op_type();
        if (op == "QuantizeLinear" || op == "DequantizeLinear" || op == "Constant") continue;
        std::set<int>& s = out[n->name()];
        for (size_t i = 0; i < n->num_inputs(); ++i) {
            const ir::Value* v = n->input(i);
            if (v && v->producer() && v->producer()->op_type() == "DequantizeLinear") s.insert(static_cast<int>(i));
        }
    }
    return out;
}

inline std::string describe(const std::map<std::string, std::set<int>>& m) {
    std::ostringstream os;
    for (const auto& [k, v] : m) {
        os << "  " << k << ": {";
        bool first = true;
        for (int i : v) {
            os << (first ? "" : ",") << i;
            first = false;
        }
        os << "}\n";
    }
    return os.str();
}

// Compares node by node and prints both tables on a difference.
inline void expect_placement(const ir::Graph& g, const std::map<std::string, std::set<int>>& expected) {
    auto actual = qdq_inputs(g);
    for (const auto& [name, want] : expected) {
        auto it = actual.find(name);
        if (it == actual.end()) {
            ADD_FAILURE() << "no node named '" << name << "' in the quantized graph";
            continue;
        }
        EXPECT_EQ(it->second, want) << "node '" << name << "'";
    }
    for (const auto& [name, have] : actual)
        if (!expected.count(name)) ADD_FAILURE() << "node '" << name << "' is not in the expected table";
    if (::testing::Test::HasFailure()) ADD_FAILURE() << "actual placement:\n" << describe(actual);
}

// The DequantizeLinear feeding input `i` of node `name`.
inline const ir::Node* dq_at(const ir::Graph& g, const std::string& name, int i) {
    const ir::Node* n = g.find_node(name);
    if (!n || !n->input(i) || !n->input(i)->producer()) return nullptr;
    const ir::Node* p = n->input(i)->producer();
    return p->op_type() == "DequantizeLinear" ? p : nullptr;
}

// Number of QuantizeLinear nodes that read the float tensor `value`.
inline int q_count_on(const ir::Graph& g, const std::string& value) {
    const ir::Value* v = g.find_value(value);
    if (!v) return -1;
    int n = 0;
    for (const ir::Use& u : v->uses())
        if (u.node->op_type() == "QuantizeLinear") ++n;
    return n;
}

// quantize_graph with a preset and default options; fails the test on error.
inline quant::QuantizeSummary quantize_with(ir::Graph& g, const std::string& preset, quant::QuantizeOptions opts = {}) {
    opts.preset = preset;
    auto s = quant::quantize_graph(g, opts);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    Status v = ir::verify(g);
    EXPECT_TRUE(v.ok()) << v.to_string();
    return s.ok() ? *s : quant::QuantizeSummary{};
}

}  // namespace qat::quant_test
