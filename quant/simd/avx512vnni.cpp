// quant/simd/avx512vnni.cpp — AVX-512 kernels using VNNI vpdpbusd / vpdpwssd (see
// avx512_kernels.inc).
#define QUANTA_VNNI 1
#define QUANTA_FILL_FN fill_kernels_avx512vnni
#include "quant/simd/avx512_kernels.inc"
