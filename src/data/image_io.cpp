#include "data/image_io.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "core/file_util.h"
#include "data/io_util.h"

#ifdef QAT_HAVE_PNG
#include <png.h>
#endif
#ifdef QAT_HAVE_JPEG
#include <jpeglib.h>
#endif

namespace qat::data {

ImageFormat sniff_image_format(const std::string& b) {
    static const unsigned char kPngSig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (b.size() >= 8 && std::memcmp(b.data(), kPngSig, 8) == 0) return ImageFormat::kPng;
    if (b.size() >= 3 && static_cast<unsigned char>(b[0]) == 0xFF && static_cast<unsigned char>(b[1]) == 0xD8 &&
        static_cast<unsigned char>(b[2]) == 0xFF)
        return ImageFormat::kJpeg;
    return ImageFormat::kUnknown;
}

bool png_supported() {
#ifdef QAT_HAVE_PNG
    return true;
#else
    return false;
#endif
}

bool jpeg_supported() {
#ifdef QAT_HAVE_JPEG
    return true;
#else
    return false;
#endif
}

namespace {

#ifdef QAT_HAVE_PNG
Result<Image> decode_png(const std::string& bytes, const std::string& what) {
    // The simplified API (libpng >= 1.6) expands palettes, strips 16-bit and removes alpha.
    png_image img;
    std::memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, bytes.data(), bytes.size()))
        return invalid_argument("cannot decode PNG ", what, ": ", img.message);
    bool color = (img.format & PNG_FORMAT_FLAG_COLOR) != 0;
    img.format = color ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    Image out;
    out.height = img.height;
    out.width = img.width;
    out.channels = color ? 3 : 1;
    if (out.height == 0 || out.width == 0) {
        png_image_free(&img);
        return invalid_argument("cannot decode PNG ", what, ": empty image");
    }
    out.pixels.resize(PNG_IMAGE_SIZE(img));
    // Alpha is composited onto black, which is what the pixel values of a premultiplied
    // viewer would show; transparent training images are rare.
    if (!png_image_finish_read(&img, nullptr, out.pixels.data(), 0, nullptr)) {
        std::string msg = img.message;
        png_image_free(&img);
        return invalid_argument("cannot decode PNG ", what, ": ", msg);
    }
    return out;
}
#endif

#ifdef QAT_HAVE_JPEG
struct JpegError {
    jpeg_error_mgr mgr;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX] = {0};
    bool warned = false;
};

void jpeg_error_exit(j_common_ptr cinfo) {
    auto* err = reinterpret_cast<JpegError*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, err->message);
    std::longjmp(err->jump, 1);
}

void jpeg_emit_message(j_common_ptr cinfo, int level) {
    // level -1 is a warning (corrupt or truncated data that libjpeg papers over with grey).
    if (level >= 0) return;
    auto* err = reinterpret_cast<JpegError*>(cinfo->err);
    if (!err->warned) (*cinfo->err->format_message)(cinfo, err->message);
    err->warned = true;
}

// All C++ objects live in the caller: longjmp out of libjpeg must not skip destructors, and
// locals changed after setjmp are indeterminate after the jump. Returns 0 on success, 1 when
// libjpeg failed (message in err), 2 for a CMYK image.
int decode_jpeg_raw(const std::string& bytes, jpeg_decompress_struct* cinfo, JpegError* err, Image* out) {
    if (setjmp(err->jump)) return 1;
    jpeg_mem_src(cinfo, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
    jpeg_read_header(cinfo, TRUE);
    if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK) return 2;
    cinfo->out_color_space = cinfo->num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(cinfo);
    out->height = cinfo->output_height;
    out->width = cinfo->output_width;
    out->channels = cinfo->output_components;
    out->pixels.resize(static_cast<size_t>(out->height * out->width * out->channels));
    const size_t stride = static_cast<size_t>(out->width * out->channels);
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = out->pixels.data() + cinfo->output_scanline * stride;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_decompress(cinfo);
    return 0;
}

Result<Image> decode_jpeg(const std::string& bytes, const std::string& what) {
    jpeg_decompress_struct cinfo;
    JpegError err;
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_error_exit;
    err.mgr.emit_message = jpeg_emit_message;
    jpeg_create_decompress(&cinfo);
    Image out;
    int rc = decode_jpeg_raw(bytes, &cinfo, &err, &out);
    jpeg_destroy_decompress(&cinfo);
    if (rc == 1) return invalid_argument("cannot decode JPEG ", what, ": ", err.message);
    if (rc == 2) return unsupported("cannot decode JPEG ", what, ": CMYK JPEG images are not supported");
    if (err.warned) return invalid_argument("cannot decode JPEG ", what, ": ", err.message);
    if (out.channels != 1 && out.channels != 3)
        return unsupported("cannot decode JPEG ", what, ": ", out.channels, " channels");
    return out;
}
#endif

}  // namespace

Result<Image> decode_image(const std::string& bytes, const std::string& what) {
    switch (sniff_image_format(bytes)) {
        case ImageFormat::kPng:
#ifdef QAT_HAVE_PNG
            return decode_png(bytes, what);
#else
            return unsupported("cannot decode ", what, ": PNG support was not built (libpng not found)");
#endif
        case ImageFormat::kJpeg:
#ifdef QAT_HAVE_JPEG
            return decode_jpeg(bytes, what);
#else
            return unsupported("cannot decode ", what, ": JPEG support was not built (libjpeg not found)");
#endif
        case ImageFormat::kUnknown:
            break;
    }
    if (bytes.empty()) return invalid_argument("cannot decode ", what, ": empty file");
    return invalid_argument("cannot decode ", what, ": not a PNG or JPEG file");
}

Result<Image> decode_image_file(const std::string& path) {
    QAT_ASSIGN_OR_RETURN(std::string bytes, detail::read_whole_file(path));
    return decode_image(bytes, path);
}

}  // namespace qat::data
