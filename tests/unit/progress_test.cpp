#include "core/progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace qat;

namespace {

// A bar with a fake clock and captured output.
struct FakeBar {
    double t = 100.0;
    std::vector<std::string> writes;
    ProgressOptions options(bool enabled = true) {
        ProgressOptions o;
        o.enabled = enabled;
        o.width = 100;
        o.clock = [this] { return t; };
        o.write = [this](const std::string& s) { writes.push_back(s); };
        return o;
    }
};

}  // namespace

TEST(Progress, FormatsDurationsAndCounts) {
    EXPECT_EQ(ProgressBar::format_duration(0), "0:00");
    EXPECT_EQ(ProgressBar::format_duration(5.4), "0:05");
    EXPECT_EQ(ProgressBar::format_duration(65), "1:05");
    EXPECT_EQ(ProgressBar::format_duration(3600 + 2 * 60 + 3), "1:02:03");
    EXPECT_EQ(ProgressBar::format_duration(-1), "?");
    EXPECT_EQ(ProgressBar::format_count(850), "850");
    EXPECT_EQ(ProgressBar::format_count(5.25), "5.25");
    EXPECT_EQ(ProgressBar::format_count(1520), "1.52k");
    EXPECT_EQ(ProgressBar::format_count(15200), "15.2k");
    EXPECT_EQ(ProgressBar::format_count(3.4e6), "3.40M");
}

// ETA = remaining / rate; rate = done / elapsed.
TEST(Progress, EtaMath) {
    EXPECT_DOUBLE_EQ(ProgressBar::eta_seconds(250, 1000, 50.0), 15.0);
    EXPECT_DOUBLE_EQ(ProgressBar::eta_seconds(1000, 1000, 50.0), 0.0);
    EXPECT_LT(ProgressBar::eta_seconds(10, 0, 50.0), 0);   // unknown total
    EXPECT_LT(ProgressBar::eta_seconds(10, 100, 0.0), 0);  // no rate yet

    FakeBar f;
    ProgressBar bar("calib", 1000, f.options());
    f.t += 4.0;  // 4 s for 250 samples: 62.5/s, 750 left -> 12 s
    bar.update(250);
    std::string line = bar.render(f.t);
    EXPECT_NE(line.find("250/1000"), std::string::npos) << line;
    EXPECT_NE(line.find(" 25% "), std::string::npos) << line;
    EXPECT_NE(line.find("62.5 samples/s"), std::string::npos) << line;
    EXPECT_NE(line.find("ETA 0:12"), std::string::npos) << line;
    // The bar: 25% of its width is filled.
    size_t open = line.find('['), close = line.find(']');
    ASSERT_NE(open, std::string::npos);
    std::string inner = line.substr(open + 1, close - open - 1);
    size_t hashes = std::count(inner.begin(), inner.end(), '#');
    EXPECT_EQ(hashes, inner.size() / 4) << line;
}

TEST(Progress, FieldsWidthAndUnknownTotal) {
    FakeBar f;
    ProgressBar bar("train", 0, f.options());
    f.t += 2.0;
    bar.update(300);
    bar.set_field("loss", 0.23456, 3);
    bar.set_field("acc", "91.2%");
    bar.set_field("loss", 0.2, 2);  // replaces, keeps the position
    std::string line = bar.render(f.t);
    EXPECT_NE(line.find("300 samples"), std::string::npos) << line;
    EXPECT_NE(line.find("150 samples/s"), std::string::npos) << line;
    EXPECT_EQ(line.find("ETA"), std::string::npos) << line;
    EXPECT_NE(line.find("loss=0.20  acc=91.2%"), std::string::npos) << line;

    ProgressOptions narrow = f.options();
    narrow.width = 30;
    ProgressBar small("a-long-label", 100, narrow);
    small.update(10);
    EXPECT_LE(small.render(f.t + 1).size(), 30u);
}

TEST(Progress, ThrottlesRedrawsAndEndsWithNewline) {
    FakeBar f;
    {
        ProgressBar bar("x", 100, f.options());
        for (int i = 1; i <= 50; ++i) {
            f.t += 0.01;  // 100 updates a second
            bar.update(i);
        }
        // 0.5 s at 10 Hz: about 5 redraws, certainly not 50.
        EXPECT_GE(f.writes.size(), 4u);
        EXPECT_LE(f.writes.size(), 6u);
        for (const auto& w : f.writes) EXPECT_EQ(w[0], '\r');
        f.writes.clear();
        bar.update(100);  // completion always draws
        ASSERT_EQ(f.writes.size(), 1u);
        EXPECT_NE(f.writes[0].find("100/100"), std::string::npos);
        bar.finish();
        bar.finish();  // once only
    }
    ASSERT_GE(f.writes.size(), 2u);
    EXPECT_EQ(f.writes.back(), "\n");
    int newlines = 0;
    for (const auto& w : f.writes) newlines += w == "\n";
    EXPECT_EQ(newlines, 1);
}

TEST(Progress, SilentWhenQuietOrNotATerminal) {
    FakeBar f;
    {
        ProgressOptions o = f.options(true);
        o.quiet = true;
        ProgressBar bar("x", 10, o);
        EXPECT_FALSE(bar.enabled());
        bar.update(10);
    }
    {
        ProgressBar bar("x", 10, f.options(false));
        bar.update(10);
    }
    EXPECT_TRUE(f.writes.empty());
    // Default: follows isatty(stderr); under ctest stderr is a pipe or file.
    ProgressOptions o;
    o.write = [&](const std::string& s) { f.writes.push_back(s); };
    ProgressBar bar("x", 10, o);
    EXPECT_EQ(bar.enabled(), isatty(2) == 1);
}
