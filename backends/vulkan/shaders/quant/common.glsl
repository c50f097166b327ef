// shaders/quant/common.glsl — byte access to a weight buffer and the scalar conversions every
// per-type decoder (quant/<type>.glsl) shares, and the weight buffer itself: binding 0 of every
// shader that decodes weights.
// Weights are read as 32-bit words and bytes are extracted with shifts: that needs neither 8- nor
// 16-bit storage, and the odd block sizes (18, 22, 34, 110, 210 bytes) put fields at any byte
// offset. All offsets are bytes from the start of the binding; multi-byte fields are little-endian
// as in GGUF (quant/legacy.h, quant/kquants.h, quant/qt4.h).
#ifndef QUANTA_QUANT_COMMON_GLSL
#define QUANTA_QUANT_COMMON_GLSL

layout(std430, binding = 0) readonly buffer W { uint w_u32[]; };

uint wb8(uint off) { return (w_u32[off >> 2] >> ((off & 3u) * 8u)) & 0xFFu; }
// Sign-extended byte (int8 fields: Q8_0 levels, Q6_K scales).
int wi8(uint off) { return int(wb8(off) << 24) >> 24; }
// 16-bit field at an even offset (never straddles a word).
uint wb16(uint off) { return (w_u32[off >> 2] >> ((off & 2u) * 8u)) & 0xFFFFu; }
// Four bytes at any offset, byte i in bits 8i..8i+7. Reads the next word only when the bytes
// straddle it, so a read at the end of a binding stays inside it.
uint wb32(uint off) {
    const uint s = (off & 3u) * 8u;
    const uint lo = w_u32[off >> 2];
    return s == 0u ? lo : (lo >> s) | (w_u32[(off >> 2) + 1u] << (32u - s));
}

// fp16 bits -> float, exact for every input (subnormals included), as quant/fp.h fp16_to_fp32.
float f16_bits_to_f32(uint h) {
    const uint sign = (h & 0x8000u) << 16;
    const uint e = (h >> 10) & 0x1Fu;
    const uint m = h & 0x3FFu;
    if (e == 0x1Fu) return uintBitsToFloat(sign | 0x7F800000u | (m << 13));
    if (e != 0u) return uintBitsToFloat(sign | ((e + 112u) << 23) | (m << 13));
    const float sub = float(m) * 5.9604644775390625e-8;  // m * 2^-24, exact
    return sign != 0u ? -sub : sub;
}
float wf16(uint off) { return f16_bits_to_f32(wb16(off)); }

// The four nibbles (low if hi == false, else high) of the bytes packed in v, as a vec4.
vec4 nibbles4(uint v, bool hi) {
    const uint s = hi ? 4u : 0u;
    return vec4(float((v >> s) & 0xFu), float((v >> (8u + s)) & 0xFu), float((v >> (16u + s)) & 0xFu),
                float((v >> (24u + s)) & 0xFu));
}
uvec4 nibbles4u(uint v, bool hi) {
    const uint s = hi ? 4u : 0u;
    return uvec4((v >> s) & 0xFu, (v >> (8u + s)) & 0xFu, (v >> (16u + s)) & 0xFu, (v >> (24u + s)) & 0xFu);
}

// IQ4_NL / IQ4_XS / QT4 levels (quant/legacy.h kIQ4Values).
const float kIQ4Values[16] = float[16](-127.0, -104.0, -83.0, -65.0, -49.0, -35.0, -22.0, -10.0,
                                       1.0, 13.0, 25.0, 38.0, 53.0, 69.0, 89.0, 113.0);
vec4 iq4_values4(uvec4 q) { return vec4(kIQ4Values[q.x], kIQ4Values[q.y], kIQ4Values[q.z], kIQ4Values[q.w]); }

#endif
