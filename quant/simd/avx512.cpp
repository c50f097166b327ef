// quant/simd/avx512.cpp — AVX-512 F/BW/VL/DQ kernels without VNNI (see avx512_kernels.inc).
#define QUANTA_VNNI 0
#define QUANTA_FILL_FN fill_kernels_avx512
#include "quant/simd/avx512_kernels.inc"
