// shaders/quant/k4_scales.glsl — Q4_K / Q5_K: 6-bit scale and min of sub-block j in [0, 8) of the
// 12 packed bytes at `s`, as quant/kquants.h k4_scale_min().
#ifndef QUANTA_QUANT_K4_SCALES_GLSL
#define QUANTA_QUANT_K4_SCALES_GLSL
void k4_scale_min(uint s, uint j, out uint sc, out uint m) {
    if (j < 4u) {
        sc = wb8(s + j) & 63u;
        m = wb8(s + j + 4u) & 63u;
    } else {
        sc = (wb8(s + j + 4u) & 0xFu) | ((wb8(s + j - 4u) >> 6) << 4);
        m = (wb8(s + j + 4u) >> 4) | ((wb8(s + j) >> 6) << 4);
    }
}
#endif
