#version 450
// Rotary position embedding, one invocation per rotated pair (i, i + n_rot/2 for NeoX, 2i, 2i+1
// otherwise) or passed-through element of x [head_dim, n_head, n_tokens, b3]; dst packed.
// The angle pos * theta_i must be accurate at long contexts (pos ~ 1e5 gives angles ~ 1e5 rad,
// where a float product is off by ~4e-3 rad). The host computes theta_i in double (with linear /
// llama3 scaling) and splits it into t1 + t2 + t3 (t1, t2: 12 significant bits each); the shader
// splits |pos| (< 2^24) into two 12-bit halves, so each partial product is exact in float, reduces
// the two large ones modulo 2*pi (Cody-Waite, exact), and adds the small ones: ~1e-5 rad at 1e5.
// No fma needed (llvmpipe does not fuse); `precise` keeps the compiler from reassociating.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Pos { int pos[]; };
layout(std430, binding = 2) readonly buffer Theta { vec4 theta[]; };  // (t1, t2, t3, 0) per pair, n_rot / 2
layout(std430, binding = 3) writeonly buffer D { float d[]; };
layout(push_constant) uniform P {
    uint hd, n_head, n_tokens, n_b3;
    uint x_first, x_nb1, x_nb2, x_nb3;
    uint pos_first, theta_first, d_first, n_rot;
    uint neox;
} p;

// x mod 2*pi for an exactly known x with |x| < 2^17 (2*pi = 6.28125 + 1.9353071795864769e-3; the
// first part has 8 significant bits, so k * 6.28125 and the difference are exact).
float reduce(float x) {
    precise float k = round(x * 0.15915494309189535);
    precise float r = x - k * 6.28125;
    return r - k * 1.9353071795864769e-3;
}

float angle(int position, vec4 th) {
    const uint ap = uint(abs(position));
    precise float p_hi = float(ap & 0xFFF000u);
    precise float p_lo = float(ap & 0xFFFu);
    precise float big = reduce(p_hi * th.x) + reduce(p_lo * th.x);
    precise float small = p_hi * th.y + p_lo * th.y + float(ap) * th.z;
    precise float a = big + small;
    return position < 0 ? -a : a;
}

void main() {
    const uint half_rot = p.n_rot / 2;
    const uint per_row = half_rot + (p.hd - p.n_rot);  // pairs, then the passed-through tail
    const uint idx = group_index() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    const uint n_rows = p.n_head * p.n_tokens * p.n_b3;
    if (idx >= per_row * n_rows) return;
    const uint row = idx / per_row;
    const uint k = idx % per_row;
    const uint i1 = row % p.n_head;
    const uint i2 = (row / p.n_head) % p.n_tokens;
    const uint i3 = row / (p.n_head * p.n_tokens);
    const uint xr = p.x_first + i1 * p.x_nb1 + i2 * p.x_nb2 + i3 * p.x_nb3;
    const uint dr = p.d_first + row * p.hd;
    if (k >= half_rot) {
        const uint i = p.n_rot + (k - half_rot);
        d[dr + i] = x[xr + i];
        return;
    }
    const uint a = p.neox != 0 ? k : 2 * k;
    const uint b = p.neox != 0 ? k + half_rot : 2 * k + 1;
    const float t = angle(pos[p.pos_first + i2], theta[p.theta_first / 4 + k]);
    const float c = cos(t), s = sin(t);
    const float x0 = x[xr + a], x1 = x[xr + b];
    d[dr + a] = x0 * c - x1 * s;
    d[dr + b] = x0 * s + x1 * c;
}
