// shaders/quant/qt3.glsl — QT3, 512 weights in 208 bytes (quant/qt3.h BlockQT3), decoded in the
// ROTATED domain like QT4 (quant/qt4.glsl says how callers undo the rotation).
//   [0..16) QT4's header (quant/qt_header.glsl), sub-block j = e / 32;
//   [16..144) ql, the 2-bit plane of quant/qt_common.h: element e = 64g + 16s + i at bits
//   2s..2s+1 of byte 16 + 16g + i; [144..208) qh: bit 2 of the index at bit e % 8 of byte
//   144 + e / 8; w_rot = d * s_j * kQT3Levels[index].
#include "quant/common.glsl"
#include "quant/qt_header.glsl"
#define QK 512u
#define QB 208u
#define QUANTA_ROTATED 1
const float kQT3Levels[8] = float[8](-127.0, -76.0, -42.0, -14.0, 13.0, 40.0, 70.0, 107.0);
float dq(uint base, uint e) {
    const uint lo = (wb8(base + 16u + 16u * (e >> 6) + (e & 15u)) >> (2u * ((e >> 4) & 3u))) & 3u;
    const uint hi = (wb8(base + 144u + (e >> 3)) >> (e & 7u)) & 1u;
    return qt_dl(base, e >> 5) * kQT3Levels[lo | (hi << 2)];
}
vec4 dq4(uint base, uint e) {
    const uint v = wb32(base + 16u + 16u * (e >> 6) + (e & 15u)) >> (2u * ((e >> 4) & 3u));
    const uint h = wb8(base + 144u + (e >> 3)) >> (e & 7u);
    const uvec4 q = uvec4((v & 3u) | ((h & 1u) << 2), ((v >> 8) & 3u) | (((h >> 1) & 1u) << 2),
                          ((v >> 16) & 3u) | (((h >> 2) & 1u) << 2), ((v >> 24) & 3u) | (((h >> 3) & 1u) << 2));
    return qt_dl(base, e >> 5) * vec4(kQT3Levels[q.x], kQT3Levels[q.y], kQT3Levels[q.z], kQT3Levels[q.w]);
}
