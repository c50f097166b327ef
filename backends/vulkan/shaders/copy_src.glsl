// shaders/copy_src.glsl — element i0 of a copy source, for copy.comp and copy_16.comp (which
// declare sf[] (floats) and sh[] (uint words) on binding 0 and the push constants p).
// SRC (specialization constant): 0 F32, 1 F16, 2 BF16, 3 Q8_0. Strides: floats for F32,
// halfwords otherwise; dim 0 of a Q8_0 source steps over 32-element blocks of 17 halfwords
// (fp16 scale, then 32 int8), and its value is fp16(d) * q in f32, exactly as quant/'s
// dequantize_row. F16 and BF16 conversions are exact too, so every source copies bit for bit.
uint copy_qk() { return SRC == 3u ? 32u : 1u; }
uint copy_half(uint s) { return (sh[s >> 1] >> ((s & 1u) * 16u)) & 0xFFFFu; }
// s: the source address of element i0's block (or element), in the units above.
float copy_load(uint s, uint i0) {
    if (SRC == 0u) return sf[s];
    if (SRC == 1u) return unpackHalf2x16(copy_half(s)).x;
    if (SRC == 2u) return uintBitsToFloat(copy_half(s) << 16);
    const float d = unpackHalf2x16(copy_half(s)).x;
    const uint byte = 2u * s + 2u + (i0 & 31u);
    const int q = int(((sh[byte >> 2] >> ((byte & 3u) * 8u)) & 0xFFu) << 24) >> 24;
    return d * float(q);
}
