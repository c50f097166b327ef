// shaders/quant/rotate.glsl — QT4's rotation R = H * S / 16 over 256 values held one per
// invocation of a workgroup of exactly 256 (quant/qt4.h; quant/qt4.cpp rotate_256 /
// unrotate_256). Same butterflies in the same order as the host, and the scalings by +-1 and
// 1/16 are exact, so device and host give identical floats. Every invocation must call these
// (they contain barriers).
#ifndef QUANTA_QUANT_ROTATE_GLSL
#define QUANTA_QUANT_ROTATE_GLSL

// S: bit i of word i / 32 set means sign -1 at position i. The LCG of quant/qt4.cpp (kSigns,
// seed 0x51A7E5, x = 1664525 x + 1013904223, sign = top bit) evaluated once; the QT4 get_rows
// and mul_mat tests compare against quant/ and fail if the two ever differ.
const uint kRotSigns[8] = uint[8](0x37C17CDCu, 0xEB714485u, 0xCCD4E7E8u, 0xB6A050D0u, 0x37892041u, 0xB7538434u,
                                  0xEE829641u, 0x0B8B7E1Eu);
float rot_sign(uint i) { return ((kRotSigns[i >> 5] >> (i & 31u)) & 1u) != 0u ? -1.0 : 1.0; }

shared float rot_buf[256];

// In-place fast Walsh-Hadamard transform of rot_buf (unnormalised), as quant/qt4.cpp fwht_256.
void rot_fwht(uint t) {
    for (uint h = 1u; h < 256u; h *= 2u) {
        barrier();
        if (t < 128u) {
            const uint j = (t / h) * 2u * h + t % h;
            const float a = rot_buf[j], b = rot_buf[j + h];
            rot_buf[j] = a + b;
            rot_buf[j + h] = a - b;
        }
    }
    barrier();
}

// Invocation t passes value t of the block and gets value t of R * block.
float rotate_256(float v, uint t) {
    rot_buf[t] = v * rot_sign(t);
    rot_fwht(t);
    return rot_buf[t] * 0.0625;
}
// Invocation t passes value t and gets value t of R^T * block.
float unrotate_256(float v, uint t) {
    rot_buf[t] = v;
    rot_fwht(t);
    return rot_buf[t] * (0.0625 * rot_sign(t));
}

#endif
