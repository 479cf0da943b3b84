// Fixture writers for the data tests: each file format is produced here with the format's own
// library or by hand from its specification, independently of the readers under test.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#ifdef QAT_HAVE_PNG
#include <png.h>
#endif
#ifdef QAT_HAVE_JPEG
#include <jpeglib.h>

#include <cstdio>
#endif

namespace qat::data::testing {

// A fresh folder per test case (ctest runs cases in parallel processes).
inline std::string temp_dir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    auto dir = std::filesystem::temp_directory_path() / (std::string("qat_data_") + info->test_suite_name() + "_" +
                                                         info->name() + "_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir.string();
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(out.good()) << path;
}

inline std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// gzip with zlib's own gz file writer.
inline void write_gzip(const std::string& path, const std::string& bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr) << path;
    ASSERT_EQ(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
    ASSERT_EQ(gzclose(f), Z_OK);
}

// IDX per LeCun's description: 0, 0, type 0x08, ndims, big-endian dims, bytes.
inline std::string idx_bytes(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
    std::string s;
    s.push_back(0);
    s.push_back(0);
    s.push_back(0x08);
    s.push_back(static_cast<char>(dims.size()));
    for (uint32_t d : dims) {
        s.push_back(static_cast<char>(d >> 24));
        s.push_back(static_cast<char>(d >> 16));
        s.push_back(static_cast<char>(d >> 8));
        s.push_back(static_cast<char>(d));
    }
    s.append(reinterpret_cast<const char*>(data.data()), data.size());
    return s;
}

#ifdef QAT_HAVE_PNG
// channels: 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA); pixels HWC.
inline void write_png(const std::string& path, int w, int h, int channels, const std::vector<uint8_t>& pixels) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    png_image img;
    std::memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    img.width = static_cast<png_uint_32>(w);
    img.height = static_cast<png_uint_32>(h);
    img.format = channels == 1   ? PNG_FORMAT_GRAY
                 : channels == 2 ? PNG_FORMAT_GA
                 : channels == 3 ? PNG_FORMAT_RGB
                                 : PNG_FORMAT_RGBA;
    ASSERT_EQ(pixels.size(), static_cast<size_t>(w * h * channels));
    ASSERT_TRUE(png_image_write_to_file(&img, path.c_str(), 0, pixels.data(), 0, nullptr)) << img.message;
}
#endif

#ifdef QAT_HAVE_JPEG
inline void write_jpeg(const std::string& path, int w, int h, int channels, const std::vector<uint8_t>& pixels,
                       int quality = 100) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    jpeg_compress_struct c;
    jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    jpeg_stdio_dest(&c, f);
    c.image_width = static_cast<JDIMENSION>(w);
    c.image_height = static_cast<JDIMENSION>(h);
    c.input_components = channels;
    c.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = const_cast<uint8_t*>(pixels.data()) + c.next_scanline * static_cast<size_t>(w * channels);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    std::fclose(f);
}
#endif

}  // namespace qat::data::testing
