// ir::verify() on use-lists and producers that disagree with node inputs/outputs. The Graph API
// cannot produce such graphs (that is its job), so this file opens Graph's private members to
// corrupt them the way a buggy Graph method would.
#include <gtest/gtest.h>

// Standard headers first so that only qat's classes see the macro below.
#include <cstdint>
#include <cstring>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#define private public
#include "ir/graph.h"
#undef private

#include "ir/verify.h"

using namespace qat;

namespace {

struct Chain {
    ir::Graph g;
    ir::Value* x;
    ir::Node* r1;
    ir::Node* r2;
    Chain() {
        x = g.add_input("x", DataType::kFloat32, Shape{2});
        r1 = g.add_node("Relu", {x}, {"a"}, "r1");
        r2 = g.add_node("Relu", {r1->output(0)}, {"y"}, "r2");
        g.add_output(r2->output(0));
    }
};

}  // namespace

TEST(VerifyLinks, IntactGraphPasses) {
    Chain c;
    EXPECT_TRUE(ir::verify(c.g).ok()) << ir::verify(c.g).to_string();
}

TEST(VerifyLinks, MissingUse) {
    Chain c;
    c.r1->output(0)->uses_.clear();
    Status s = ir::verify(c.g);
    EXPECT_NE(s.message().find("Relu 'r2': input 0 reads 'a' but its use-list holds this use 0 times"),
              std::string::npos)
        << s.message();
}

TEST(VerifyLinks, StaleUse) {
    Chain c;
    c.x->uses_.push_back({c.r2, 0});
    Status s = ir::verify(c.g);
    EXPECT_NE(s.message().find("value 'x' lists a use by Relu 'r2' input 0 that does not read it"), std::string::npos)
        << s.message();
}

TEST(VerifyLinks, WrongProducer) {
    Chain c;
    c.r2->output(0)->producer_ = c.r1;
    std::vector<std::string> all = ir::verify_all(c.g);
    bool found = false;
    for (const auto& e : all) found |= e.find("'y' names Relu 'r1' output 0 as its producer") != std::string::npos;
    EXPECT_TRUE(found) << (all.empty() ? "no errors" : all.front());
}

TEST(VerifyLinks, OutputFlagWithoutListEntry) {
    Chain c;
    c.r1->output(0)->is_output_ = true;
    Status s = ir::verify(c.g);
    EXPECT_NE(s.message().find("value 'a' is flagged as a graph output but is not in the output list"),
              std::string::npos)
        << s.message();
}
