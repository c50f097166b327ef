// quant/simd/neon.cpp — ARM NEON (ARMv8.0 baseline: no dotprod extension needed) kernels,
// compiled only for aarch64 and chosen by quant/dispatch.cpp as Isa::Neon.
//
// Activation quantizers are bit-exact with the scalar reference: vcvtaq_s32_f32 rounds to nearest
// with ties away from zero, which is exactly roundf. Dots multiply int8 pairs with vmull_s8 into
// int16 and pairwise-add into int32 (exact). Q8_0 / Q4_0 fold each block into a float vector
// accumulator (within float rounding of the reference); K-quants sum each super-block exactly and
// apply the reference's float expression (bit for bit).
//
// Tested here without ARM hardware (Debian: g++-aarch64-linux-gnu qemu-user):
//   aarch64-linux-gnu-g++ -std=c++20 -O2 -static -ffp-contract=off -I. -I<dir with catch2/catch.hpp>
//     -DQUANTA_HAVE_NEON=1 -DQUANTA_SOURCE_DIR='"'$PWD'"' -DQUANTA_BINARY_DIR='"/tmp"'
//     quant/*.cpp quant/simd/neon.cpp tests/quant/*.cpp tests/test_main.cpp -o test_quant_arm
//   qemu-aarch64 ./test_quant_arm
#if defined(__aarch64__)

#include <arm_neon.h>

#include <cstring>

#include "quant/kquants.h"
#include "quant/legacy.h"
#include "quant/simd/simd.h"

namespace quanta::quant {

namespace {

// 32 floats -> 32 int8 with the reference's scale; returns d and (optionally) the sum of q.
inline float quantize_block32(const float * x, int8_t * qs, int * sum = nullptr) {
    float32x4_t v[8];
    float32x4_t amax = vdupq_n_f32(0.0f);
    for (int k = 0; k < 8; ++k) {
        v[k] = vld1q_f32(x + 4 * k);
        amax = vmaxq_f32(amax, vabsq_f32(v[k]));
    }
    const float d = vmaxvq_f32(amax) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int32x4_t acc = vdupq_n_s32(0);
    for (int k = 0; k < 8; k += 2) {
        const int32x4_t a = vcvtaq_s32_f32(vmulq_n_f32(v[k], id));
        const int32x4_t b = vcvtaq_s32_f32(vmulq_n_f32(v[k + 1], id));
        acc = vaddq_s32(acc, vaddq_s32(a, b));
        const int16x8_t h = vcombine_s16(vqmovn_s32(a), vqmovn_s32(b));
        vst1_s8(qs + 4 * k, vqmovn_s16(h));
    }
    if (sum) *sum = vaddvq_s32(acc);
    return d;
}

void quantize_q8_0(const float * src, void * dst, int64_t n, const float *) {
    BlockQ8_0 * y = static_cast<BlockQ8_0 *>(dst);
    for (int64_t i = 0; i < n / kQK; ++i) y[i].d = fp32_to_fp16(quantize_block32(src + i * kQK, y[i].qs));
}

void quantize_q8_1(const float * src, void * dst, int64_t n, const float *) {
    BlockQ8_1 * y = static_cast<BlockQ8_1 *>(dst);
    for (int64_t i = 0; i < n / kQK; ++i) {
        int s = 0;
        const float d = quantize_block32(src + i * kQK, y[i].qs, &s);
        y[i].d = fp32_to_fp16(d);
        y[i].s = fp32_to_fp16(float(s) * d);
    }
}

void quantize_q8_k(const float * src, void * dst, int64_t n, const float *) {
    BlockQ8_K * y = static_cast<BlockQ8_K *>(dst);
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        const float * x = src + i * kQK_K;
        float32x4_t amax = vdupq_n_f32(0.0f);
        for (int j = 0; j < kQK_K; j += 4) amax = vmaxq_f32(amax, vabsq_f32(vld1q_f32(x + j)));
        const float d = vmaxvq_f32(amax) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[i].d = d;
        for (int g = 0; g < 16; ++g) {
            int32x4_t q[4];
            for (int k = 0; k < 4; ++k) q[k] = vcvtaq_s32_f32(vmulq_n_f32(vld1q_f32(x + 16 * g + 4 * k), id));
            const int16x8_t h0 = vcombine_s16(vqmovn_s32(q[0]), vqmovn_s32(q[1]));
            const int16x8_t h1 = vcombine_s16(vqmovn_s32(q[2]), vqmovn_s32(q[3]));
            vst1q_s8(y[i].qs + 16 * g, vcombine_s8(vqmovn_s16(h0), vqmovn_s16(h1)));
            y[i].bsums[g] = int16_t(vaddvq_s32(vaddq_s32(vaddq_s32(q[0], q[1]), vaddq_s32(q[2], q[3]))));
        }
    }
}

// 16 int8 pairs -> int32x4 partial sums, exact.
inline int32x4_t dot16(int8x16_t a, int8x16_t b) {
    const int16x8_t lo = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    const int16x8_t hi = vmull_high_s8(a, b);
    return vpadalq_s16(vpaddlq_s16(lo), hi);
}

float dot_q8_0(const void * w, const void * a, int64_t n) {
    const BlockQ8_0 * x = static_cast<const BlockQ8_0 *>(w);
    const BlockQ8_0 * y = static_cast<const BlockQ8_0 *>(a);
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const int32x4_t s = vaddq_s32(dot16(vld1q_s8(x[i].qs), vld1q_s8(y[i].qs)),
                                      dot16(vld1q_s8(x[i].qs + 16), vld1q_s8(y[i].qs + 16)));
        acc = vfmaq_n_f32(acc, vcvtq_f32_s32(s), fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d));
    }
    return vaddvq_f32(acc);
}

float dot_q4_0(const void * w, const void * a, int64_t n) {
    const BlockQ4_0 * x = static_cast<const BlockQ4_0 *>(w);
    const BlockQ8_0 * y = static_cast<const BlockQ8_0 *>(a);
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    const int8x16_t eight = vdupq_n_s8(8);
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < n / kQK; ++i) {
        const uint8x16_t b = vld1q_u8(x[i].qs);
        const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(b, m4)), eight);
        const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(b, 4)), eight);
        const int32x4_t s = vaddq_s32(dot16(lo, vld1q_s8(y[i].qs)), dot16(hi, vld1q_s8(y[i].qs + 16)));
        acc = vfmaq_n_f32(acc, vcvtq_f32_s32(s), fp16_to_fp32(x[i].d) * fp16_to_fp32(y[i].d));
    }
    return vaddvq_f32(acc);
}

float dot_q4_k(const void * w, const void * a, int64_t n) {
    const BlockQ4_K * x = static_cast<const BlockQ4_K *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int sc[8], mn[8];
        for (int j = 0; j < 8; ++j) k4_scale_min(x[i].scales, j, &sc[j], &mn[j]);
        int summ = 0;
        for (int j = 0; j < 8; ++j) summ += mn[j] * (y[i].bsums[2 * j] + y[i].bsums[2 * j + 1]);
        int sumi = 0;
        for (int c = 0; c < 4; ++c) {
            int32x4_t slo = vdupq_n_s32(0), shi = vdupq_n_s32(0);
            for (int h = 0; h < 2; ++h) {
                const uint8x16_t b = vld1q_u8(x[i].qs + 32 * c + 16 * h);
                slo = vaddq_s32(slo, dot16(vreinterpretq_s8_u8(vandq_u8(b, m4)), vld1q_s8(y[i].qs + 64 * c + 16 * h)));
                shi = vaddq_s32(shi, dot16(vreinterpretq_s8_u8(vshrq_n_u8(b, 4)), vld1q_s8(y[i].qs + 64 * c + 32 + 16 * h)));
            }
            sumi += sc[2 * c] * vaddvq_s32(slo) + sc[2 * c + 1] * vaddvq_s32(shi);
        }
        sum += y[i].d * (fp16_to_fp32(x[i].d) * float(sumi) - fp16_to_fp32(x[i].dmin) * float(summ));
    }
    return sum;
}

float dot_q6_k(const void * w, const void * a, int64_t n) {
    const BlockQ6_K * x = static_cast<const BlockQ6_K *>(w);
    const BlockQ8_K * y = static_cast<const BlockQ8_K *>(a);
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    const uint8x16_t m2 = vdupq_n_u8(0x03);
    const int8x16_t off = vdupq_n_s8(32);
    float sum = 0.0f;
    for (int64_t i = 0; i < n / kQK_K; ++i) {
        int sumi = 0;
        for (int h = 0; h < 2; ++h) {
            for (int half = 0; half < 2; ++half) {  // l in [16*half, 16*half + 16)
                const uint8x16_t la = vld1q_u8(x[i].ql + 64 * h + 16 * half);
                const uint8x16_t lb = vld1q_u8(x[i].ql + 64 * h + 32 + 16 * half);
                const uint8x16_t qh = vld1q_u8(x[i].qh + 32 * h + 16 * half);
                const uint8x16_t q[4] = {
                    vorrq_u8(vandq_u8(la, m4), vshlq_n_u8(vandq_u8(qh, m2), 4)),
                    vorrq_u8(vandq_u8(lb, m4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh, 2), m2), 4)),
                    vorrq_u8(vshrq_n_u8(la, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh, 4), m2), 4)),
                    vorrq_u8(vshrq_n_u8(lb, 4), vshlq_n_u8(vshrq_n_u8(qh, 6), 4)),
                };
                for (int k = 0; k < 4; ++k) {
                    const int e0 = 128 * h + 32 * k + 16 * half;  // 16 elements of one sub-block
                    const int8x16_t v = vsubq_s8(vreinterpretq_s8_u8(q[k]), off);
                    sumi += x[i].scales[e0 / 16] * vaddvq_s32(dot16(v, vld1q_s8(y[i].qs + e0)));
                }
            }
        }
        sum += fp16_to_fp32(x[i].d) * y[i].d * float(sumi);
    }
    return sum;
}

}  // namespace

void fill_kernels_neon(IsaKernels & k) {
    k.quantize[size_t(Type::Q8_0)] = quantize_q8_0;
    k.quantize[size_t(Type::Q8_1)] = quantize_q8_1;
    k.quantize[size_t(Type::Q8_K)] = quantize_q8_k;
    k.dot[size_t(Type::Q8_0)] = dot_q8_0;
    k.dot[size_t(Type::Q4_0)] = dot_q4_0;
    k.dot[size_t(Type::Q4_K)] = dot_q4_k;
    k.dot[size_t(Type::Q6_K)] = dot_q6_k;
}

}  // namespace quanta::quant

#endif  // __aarch64__
