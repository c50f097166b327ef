// backends/cpu/vec.cpp — scalar, AVX2+FMA and AVX-512 versions of the vec.h primitives. The SIMD
// versions are compiled with target attributes so one portable binary carries all of them.
#include "backends/cpu/vec.h"

#include "quant/dispatch.h"
#include "quant/fp.h"

#if defined(__x86_64__)
// GCC 12 reports its own AVX-512 intrinsic headers (the undefined pass-through operand of
// _mm512_extractf64x4_pd / _mm512_cvtph_ps) as uninitialized when used in target() functions.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

namespace quanta::backends::cpu {

namespace {

// ---- scalar: four partial sums, so the compiler keeps several FMAs in flight ---------------
float dot_f32_scalar(const float * a, const float * b, int64_t n) {
    float s[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        for (int k = 0; k < 4; ++k) s[k] += a[i + k] * b[i + k];
    }
    for (; i < n; ++i) s[0] += a[i] * b[i];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

float dot_f16_f32_scalar(const uint16_t * a, const float * b, int64_t n) {
    float s[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        for (int k = 0; k < 4; ++k) s[k] += quant::fp16_to_fp32(a[i + k]) * b[i + k];
    }
    for (; i < n; ++i) s[0] += quant::fp16_to_fp32(a[i]) * b[i];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

void axpy_f32_scalar(float alpha, const float * x, float * y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void scale_f32_scalar(float alpha, float * y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] *= alpha;
}

void f16_to_f32_scalar(const uint16_t * src, float * dst, int64_t n) {
    for (int64_t i = 0; i < n; ++i) dst[i] = quant::fp16_to_fp32(src[i]);
}

#if defined(__x86_64__)

// ---- AVX2 + FMA + F16C ------------------------------------------------------------------
#define QUANTA_AVX2 __attribute__((target("avx2,fma,f16c")))

QUANTA_AVX2 float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v);
    __m128 hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

QUANTA_AVX2 float dot_f32_avx2(const float * a, const float * b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

QUANTA_AVX2 float dot_f16_f32_avx2(const uint16_t * a, const float * b, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 a0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(a + i)));
        __m256 a1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(a + i + 8)));
        s0 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(a1, _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 a0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(a + i)));
        s0 = _mm256_fmadd_ps(a0, _mm256_loadu_ps(b + i), s0);
    }
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; ++i) s += quant::fp16_to_fp32(a[i]) * b[i];
    return s;
}

QUANTA_AVX2 void axpy_f32_avx2(float alpha, const float * x, float * y, int64_t n) {
    const __m256 va = _mm256_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] += alpha * x[i];
}

QUANTA_AVX2 void scale_f32_avx2(float alpha, float * y, int64_t n) {
    const __m256 va = _mm256_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_mul_ps(va, _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] *= alpha;
}

QUANTA_AVX2 void f16_to_f32_avx2(const uint16_t * src, float * dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(src + i))));
    }
    for (; i < n; ++i) dst[i] = quant::fp16_to_fp32(src[i]);
}

// ---- AVX-512F ------------------------------------------------------------------------------
#define QUANTA_AVX512 __attribute__((target("avx512f,avx512vl,avx2,fma,f16c")))

QUANTA_AVX512 float dot_f32_avx512(const float * a, const float * b, int64_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        const __mmask16 m = __mmask16((1u << (n - i)) - 1u);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

QUANTA_AVX512 float dot_f16_f32_avx512(const uint16_t * a, const float * b, int64_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 a0 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(a + i)));
        __m512 a1 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(a + i + 16)));
        s0 = _mm512_fmadd_ps(a0, _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(a1, _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i + 16 <= n; i += 16) {
        __m512 a0 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(a + i)));
        s0 = _mm512_fmadd_ps(a0, _mm512_loadu_ps(b + i), s0);
    }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    for (; i < n; ++i) s += quant::fp16_to_fp32(a[i]) * b[i];
    return s;
}

QUANTA_AVX512 void axpy_f32_avx512(float alpha, const float * x, float * y, int64_t n) {
    const __m512 va = _mm512_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] += alpha * x[i];
}

#endif  // __x86_64__

VecOps choose() {
    VecOps v{dot_f32_scalar, dot_f16_f32_scalar, axpy_f32_scalar, scale_f32_scalar, f16_to_f32_scalar, "scalar"};
#if defined(__x86_64__)
    const quant::Isa isa = quant::cpu_isa_level();
    if (isa == quant::Isa::Avx2 || isa == quant::Isa::Avx512 || isa == quant::Isa::Avx512Vnni) {
        v = {dot_f32_avx2, dot_f16_f32_avx2, axpy_f32_avx2, scale_f32_avx2, f16_to_f32_avx2, "avx2"};
    }
    if (isa == quant::Isa::Avx512 || isa == quant::Isa::Avx512Vnni) {
        v.dot_f32 = dot_f32_avx512;
        v.dot_f16_f32 = dot_f16_f32_avx512;
        v.axpy_f32 = axpy_f32_avx512;
        v.isa = "avx512";
    }
#endif
    return v;
}

}  // namespace

const VecOps & vec() {
    static const VecOps ops = choose();
    return ops;
}

}  // namespace quanta::backends::cpu
