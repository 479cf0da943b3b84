// PNG and JPEG decoding (libpng, libjpeg) into 8-bit pixels, for image-folder data sets.
//
//   QAT_ASSIGN_OR_RETURN(data::Image img, data::decode_image_file("cat/001.jpg"));
//   img.channels;   // 1 (grayscale) or 3 (RGB); alpha is dropped, palettes and 16-bit expanded
//
// Every failure (not an image, truncated, corrupt, unsupported colour space) is a Status naming
// the file, never a crash or a half-grey image: libjpeg's "premature end of data" warning counts
// as a failure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace qat::data {

struct Image {
    int64_t height = 0;
    int64_t width = 0;
    int64_t channels = 0;         // 1 or 3
    std::vector<uint8_t> pixels;  // HWC, row-major, height * width * channels
};

enum class ImageFormat { kUnknown, kPng, kJpeg };
// From the first bytes (signature), not from the file name.
ImageFormat sniff_image_format(const std::string& bytes);
// True when the codec was found at build time.
bool png_supported();
bool jpeg_supported();

// `what` names the source in errors (usually the path).
Result<Image> decode_image(const std::string& bytes, const std::string& what);
Result<Image> decode_image_file(const std::string& path);

}  // namespace qat::data
