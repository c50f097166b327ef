// quant/fp.cpp — reference row codecs of F32, F16 and BF16. Their dot products pair with F32
// activations (dot_with = F32) and accumulate in double, so the reference is the exact value
// rounded once; SIMD versions are compared to it with a float tolerance.
#include "quant/fp.h"

#include <cstring>

namespace quanta::quant {

void quantize_row_f32(const float * src, void * dst, int64_t n, const float *) {
    std::memcpy(dst, src, size_t(n) * sizeof(float));
}

void dequantize_row_f32(const void * src, float * dst, int64_t n) {
    std::memcpy(dst, src, size_t(n) * sizeof(float));
}

float dot_row_f32(const void * w, const void * a, int64_t n) {
    const float * x = static_cast<const float *>(w);
    const float * y = static_cast<const float *>(a);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += double(x[i]) * double(y[i]);
    return float(sum);
}

void quantize_row_f16(const float * src, void * dst, int64_t n, const float *) {
    uint16_t * h = static_cast<uint16_t *>(dst);
    for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(src[i]);
}

void dequantize_row_f16(const void * src, float * dst, int64_t n) {
    const uint16_t * h = static_cast<const uint16_t *>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(h[i]);
}

float dot_row_f16(const void * w, const void * a, int64_t n) {
    const uint16_t * x = static_cast<const uint16_t *>(w);
    const float * y = static_cast<const float *>(a);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += double(fp16_to_fp32(x[i])) * double(y[i]);
    return float(sum);
}

void quantize_row_bf16(const float * src, void * dst, int64_t n, const float *) {
    uint16_t * b = static_cast<uint16_t *>(dst);
    for (int64_t i = 0; i < n; ++i) b[i] = fp32_to_bf16(src[i]);
}

void dequantize_row_bf16(const void * src, float * dst, int64_t n) {
    const uint16_t * b = static_cast<const uint16_t *>(src);
    for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(b[i]);
}

float dot_row_bf16(const void * w, const void * a, int64_t n) {
    const uint16_t * x = static_cast<const uint16_t *>(w);
    const float * y = static_cast<const float *>(a);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += double(bf16_to_fp32(x[i])) * double(y[i]);
    return float(sum);
}

}  // namespace quanta::quant
