// backends/cpu/vec.h — the float vector primitives of the CPU kernels (dot, axpy, conversion),
// chosen once at run time for the CPU's ISA (AVX-512, AVX2+FMA, or portable scalar).
//
// Every function gives the same result for the same inputs on one machine whatever the thread
// count: a row is always reduced by one call in one order.
#pragma once

#include <cstdint>

namespace quanta::backends::cpu {

struct VecOps {
    float (*dot_f32)(const float * a, const float * b, int64_t n);
    float (*dot_f16_f32)(const uint16_t * a, const float * b, int64_t n);  // a: fp16 bits
    void (*axpy_f32)(float alpha, const float * x, float * y, int64_t n);  // y += alpha * x
    void (*scale_f32)(float alpha, float * y, int64_t n);                  // y *= alpha
    void (*f16_to_f32)(const uint16_t * src, float * dst, int64_t n);
    const char * isa;
};

const VecOps & vec();

}  // namespace quanta::backends::cpu
