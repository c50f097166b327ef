#version 450
// mul_mat_rotate: the activations of a mul_mat with QT4 / QT3 / QT2 weights, rotated. Those
// formats store R w (quant/qt4.h) and w . a = (R w) . (R a), so every 256 consecutive elements of
// each activation row of x [k, m, B2, B3] are multiplied by R into a packed f32 scratch buffer
// [k, m * B2 * B3], which mul_mat_{vec,mm}_<type> then read as their activations. One workgroup of
// 256 per rotation block (quant/rotate.glsl: same butterflies as the host, identical floats).
// Blocks: g = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x (the backend folds large
// counts into y), row g / (k / 256), block g % (k / 256).
layout(local_size_x = 256) in;

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Params {
    uint k;        // elements per row, a multiple of 256
    uint rows;     // m * B2 * B3
    uint m;        // dim 1 of x
    uint b2;       // dim 2 of x
    uint x_off;    // floats: first element of x in binding 0
    uint x_nb1;    // floats between rows of x (dims 1..3)
    uint x_nb2;
    uint x_nb3;
    uint y_off;    // floats: first element of y in binding 1; y rows are k apart
} p;

#include "quant/rotate.glsl"

void main() {
    const uint t = gl_LocalInvocationID.x;
    const uint blocks = p.k / 256u;
    const uint g = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    if (g >= blocks * p.rows) return;  // uniform per workgroup
    const uint row = g / blocks, c = (g % blocks) * 256u + t;
    const uint i1 = row % p.m, i2 = (row / p.m) % p.b2, i3 = row / (p.m * p.b2);
    const float v = x[p.x_off + i1 * p.x_nb1 + i2 * p.x_nb2 + i3 * p.x_nb3 + c];
    y[p.y_off + row * p.k + c] = rotate_256(v, t);
}
