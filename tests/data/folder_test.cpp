#include <gtest/gtest.h>

#include <filesystem>

#include "core/logging.h"
#include "data/dataset.h"
#include "data/image_io.h"
#include "data_test_util.h"

using namespace qat;
using namespace qat::data;
using namespace qat::data::testing;

namespace {

std::vector<uint8_t> ramp(int w, int h, int c, int seed) {
    std::vector<uint8_t> v(static_cast<size_t>(w * h * c));
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < c; ++k)
                v[static_cast<size_t>((y * w + x) * c + k)] =
                    static_cast<uint8_t>((seed + 17 * y + 5 * x + 80 * k) % 256);
    return v;
}

// Captures warnings while alive.
struct LogCapture {
    std::vector<std::string> lines;
    LogSink old;
    LogCapture() {
        old = set_log_sink([this](LogLevel, const std::string& m) { lines.push_back(m); });
    }
    ~LogCapture() { set_log_sink(old); }
};

}  // namespace

#ifdef QAT_HAVE_PNG
TEST(Folder, PngClassesSortedAndPixelsCHW) {
    std::string dir = temp_dir();
    // Classes created out of order: labels follow the sorted names.
    write_png(dir + "/zebra/b.png", 4, 3, 3, ramp(4, 3, 3, 1));
    write_png(dir + "/zebra/a.png", 4, 3, 3, ramp(4, 3, 3, 2));
    write_png(dir + "/ant/x.png", 4, 3, 3, ramp(4, 3, 3, 3));
    write_bytes(dir + "/ant/notes.txt", "not an image, ignored");
    auto ds = open_dataset("folder:" + dir, Split::kTrain);
    ASSERT_TRUE(ds.ok()) << ds.status().to_string();
    EXPECT_EQ((*ds)->size(), 3);
    EXPECT_EQ((*ds)->class_names(), (std::vector<std::string>{"ant", "zebra"}));
    EXPECT_EQ((*ds)->sample_dims(), (std::vector<int64_t>{3, 3, 4}));
    // Order: ant/x, zebra/a, zebra/b.
    EXPECT_EQ((*ds)->label(0), 0);
    EXPECT_EQ((*ds)->label(1), 1);
    EXPECT_NE((*ds)->sample_name(1).find("zebra/a.png"), std::string::npos);
    Tensor t;
    int64_t label;
    ASSERT_TRUE((*ds)->get(2, &t, &label).ok());
    EXPECT_EQ(label, 1);
    auto want = ramp(4, 3, 3, 1);  // zebra/b.png, HWC
    ASSERT_EQ(t.dims(), (std::vector<int64_t>{3, 3, 4}));
    for (int c = 0; c < 3; ++c)
        for (int y = 0; y < 3; ++y)
            for (int x = 0; x < 4; ++x)
                ASSERT_EQ(t.data<uint8_t>()[(c * 3 + y) * 4 + x], want[static_cast<size_t>((y * 4 + x) * 3 + c)]);
}

TEST(Folder, GreyAndRgbMixAndUncachedDecoding) {
    std::string dir = temp_dir();
    write_png(dir + "/a/grey.png", 5, 2, 1, ramp(5, 2, 1, 9));
    write_png(dir + "/b/rgba.png", 6, 3, 4, ramp(6, 3, 4, 4));
    for (int64_t budget : {int64_t{1} << 30, int64_t{0}}) {  // cached, then decoded in get()
        OpenOptions opt;
        opt.folder_cache_bytes = budget;
        auto ds = open_dataset("folder:" + dir, Split::kTest, opt);
        ASSERT_TRUE(ds.ok()) << ds.status().to_string();
        // Any colour image makes the set RGB; sizes differ, so H and W are unknown.
        EXPECT_EQ((*ds)->sample_dims(), (std::vector<int64_t>{3, -1, -1}));
        Tensor t;
        ASSERT_TRUE((*ds)->get(0, &t, nullptr).ok());
        ASSERT_EQ(t.dims(), (std::vector<int64_t>{3, 2, 5}));
        auto g = ramp(5, 2, 1, 9);
        for (int c = 0; c < 3; ++c)
            for (int i = 0; i < 10; ++i) ASSERT_EQ(t.data<uint8_t>()[c * 10 + i], g[static_cast<size_t>(i)]);
        ASSERT_TRUE((*ds)->get(1, &t, nullptr).ok());
        ASSERT_EQ(t.dims(), (std::vector<int64_t>{3, 3, 6}));
        // Alpha 255 would keep the colour; our ramp's alpha varies, so only check the opaque case.
    }
}

TEST(Folder, UndecodableFilesAreSkippedWithAWarning) {
    std::string dir = temp_dir();
    write_png(dir + "/cat/good1.png", 4, 4, 3, ramp(4, 4, 3, 1));
    write_png(dir + "/dog/good2.png", 4, 4, 3, ramp(4, 4, 3, 2));
    write_bytes(dir + "/dog/garbage.png", "this is not a png at all");
    std::string png = read_bytes(dir + "/cat/good1.png");
    write_bytes(dir + "/cat/truncated.png", png.substr(0, png.size() - 30));
    write_bytes(dir + "/cat/empty.jpg", "");
    LogCapture logs;
    auto ds = open_dataset("folder:" + dir, Split::kTrain);
    ASSERT_TRUE(ds.ok()) << ds.status().to_string();
    EXPECT_EQ((*ds)->size(), 2);
    EXPECT_NE((*ds)->description().find("3 undecodable files skipped"), std::string::npos) << (*ds)->description();
    bool warned = false;
    for (const auto& l : logs.lines) warned |= l.find("skipped 3 of 5 images") != std::string::npos;
    EXPECT_TRUE(warned);
    EXPECT_EQ((*ds)->label(0), 0);
    EXPECT_EQ((*ds)->label(1), 1);
}

TEST(Folder, AllUndecodableIsAnError) {
    std::string dir = temp_dir();
    write_bytes(dir + "/cat/a.png", "nope");
    write_bytes(dir + "/cat/b.jpg", "\xff\xd8\xff garbage");
    auto ds = open_dataset("folder:" + dir, Split::kTrain);
    ASSERT_FALSE(ds.ok());
    EXPECT_NE(ds.status().message().find("none of the 2 images"), std::string::npos) << ds.status().to_string();
    EXPECT_NE(ds.status().message().find(dir), std::string::npos);
}

TEST(Folder, SplitsAndLayoutErrors) {
    std::string dir = temp_dir();
    write_png(dir + "/train/a/1.png", 2, 2, 1, ramp(2, 2, 1, 0));
    write_png(dir + "/train/b/1.png", 2, 2, 1, ramp(2, 2, 1, 1));
    write_png(dir + "/val/a/1.png", 2, 2, 1, ramp(2, 2, 1, 2));
    auto train = open_dataset("folder:" + dir, Split::kTrain);
    ASSERT_TRUE(train.ok()) << train.status().to_string();
    EXPECT_EQ((*train)->size(), 2);
    EXPECT_EQ((*train)->sample_dims(), (std::vector<int64_t>{1, 2, 2}));
    auto test = open_dataset("folder:" + dir, Split::kTest);  // val/ serves as test
    ASSERT_TRUE(test.ok()) << test.status().to_string();
    EXPECT_EQ((*test)->size(), 1);

    std::string only_train = temp_dir() + "_t";
    write_png(only_train + "/train/a/1.png", 2, 2, 1, ramp(2, 2, 1, 0));
    auto r = open_dataset("folder:" + only_train, Split::kTest);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("no test/"), std::string::npos) << r.status().to_string();

    std::string flat = temp_dir() + "_flat";
    write_png(flat + "/1.png", 2, 2, 1, ramp(2, 2, 1, 0));
    r = open_dataset("folder:" + flat, Split::kTrain);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("no class sub-folders"), std::string::npos) << r.status().to_string();

    std::string empty = temp_dir() + "_empty";
    std::filesystem::create_directories(empty + "/a");
    r = open_dataset("folder:" + empty, Split::kTrain);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("empty data set"), std::string::npos) << r.status().to_string();

    r = open_dataset("folder:" + dir + "/does-not-exist", Split::kTrain);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
    EXPECT_NE(r.status().message().find("does-not-exist"), std::string::npos);
}

TEST(Folder, UnreadableFolderIsAnError) {
    if (geteuid() == 0) GTEST_SKIP() << "running as root: permissions do not stop reads";
    std::string dir = temp_dir();
    write_png(dir + "/a/1.png", 2, 2, 1, ramp(2, 2, 1, 0));
    std::filesystem::permissions(dir + "/a", std::filesystem::perms::none);
    auto r = open_dataset("folder:" + dir, Split::kTrain);
    std::filesystem::permissions(dir + "/a", std::filesystem::perms::owner_all);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find(dir + "/a"), std::string::npos) << r.status().to_string();
}
#endif

#ifdef QAT_HAVE_JPEG
TEST(Folder, JpegDecodesCloseToTheSource) {
    std::string dir = temp_dir();
    // Flat colours survive JPEG at quality 100 within a couple of levels.
    std::vector<uint8_t> rgb(8 * 8 * 3), grey(8 * 8, 77);
    for (size_t i = 0; i < rgb.size(); i += 3) {
        rgb[i] = 200;
        rgb[i + 1] = 30;
        rgb[i + 2] = 90;
    }
    write_jpeg(dir + "/c/rgb.jpg", 8, 8, 3, rgb);
    write_jpeg(dir + "/c/grey.JPEG", 8, 8, 1, grey);
    auto img = decode_image_file(dir + "/c/rgb.jpg");
    ASSERT_TRUE(img.ok()) << img.status().to_string();
    EXPECT_EQ(img->channels, 3);
    for (size_t i = 0; i < rgb.size(); ++i) EXPECT_NEAR(img->pixels[i], rgb[i], 3) << i;
    auto g = decode_image_file(dir + "/c/grey.JPEG");
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    EXPECT_EQ(g->channels, 1);
    for (uint8_t v : g->pixels) EXPECT_NEAR(v, 77, 2);

    // A truncated JPEG is a failure, not a grey-filled image.
    std::string bytes = read_bytes(dir + "/c/rgb.jpg");
    auto bad = decode_image(bytes.substr(0, bytes.size() / 2), "half.jpg");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.status().message().find("half.jpg"), std::string::npos) << bad.status().to_string();

    auto ds = open_dataset("folder:" + dir, Split::kTrain);
    ASSERT_TRUE(ds.ok()) << ds.status().to_string();
    EXPECT_EQ((*ds)->size(), 2);
    EXPECT_EQ((*ds)->sample_dims(), (std::vector<int64_t>{3, 8, 8}));
}
#endif

TEST(Folder, CodecsArePresentOnThisBuild) {
#if defined(QAT_HAVE_PNG) && defined(QAT_HAVE_JPEG)
    EXPECT_TRUE(png_supported());
    EXPECT_TRUE(jpeg_supported());
#else
    GTEST_SKIP() << "libpng or libjpeg not found at build time: image-folder tests are not built";
#endif
}
