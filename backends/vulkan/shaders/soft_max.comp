#version 450
// Masked softmax, one workgroup per row of x [n_kv, n_q, n_head, b3]: key j is visible to query
// row i1 when kpos[j] >= 0, (!causal || kpos[j] <= pos[i1]) and (window == 0 ||
// pos[i1] - kpos[j] < window), with kpos[j] = j when the node has no kpos source (HAS_KPOS 0).
// Masked entries are 0; a row with no visible key is all 0 (as the CPU kernel). Three passes over
// the row (max, sum of exp, write) with shared-memory reductions.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint HAS_KPOS = 0;
#include "common.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Pos { int pos[]; };
layout(std430, binding = 2) readonly buffer KPos { int kpos[]; };
layout(std430, binding = 3) writeonly buffer D { float d[]; };
layout(push_constant) uniform P {
    uint n_kv, n_q, n_head, n_rows;
    uint x_first, x_nb1, x_nb2, x_nb3;
    uint pos_first, kpos_first, d_first, causal;
    int window;
} p;

shared float red[gl_WorkGroupSize.x];

bool visible(uint j, int qp) {
    const int kp = HAS_KPOS != 0 ? kpos[p.kpos_first + j] : int(j);
    return kp >= 0 && (p.causal == 0 || kp <= qp) && (p.window == 0 || qp - kp < p.window);
}

void main() {
    const uint row = group_index();
    if (row >= p.n_rows) return;
    const uint tid = gl_LocalInvocationID.x;
    const uint i1 = row % p.n_q;
    const uint i2 = (row / p.n_q) % p.n_head;
    const uint i3 = row / (p.n_q * p.n_head);
    const uint xr = p.x_first + i1 * p.x_nb1 + i2 * p.x_nb2 + i3 * p.x_nb3;
    const uint dr = p.d_first + row * p.n_kv;
    const int qp = pos[p.pos_first + i1];

    float m = uintBitsToFloat(0xFF800000u);  // -inf
    for (uint j = tid; j < p.n_kv; j += gl_WorkGroupSize.x) {
        if (visible(j, qp)) m = max(m, x[xr + j]);
    }
    red[tid] = m;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
        if (tid < s) red[tid] = max(red[tid], red[tid + s]);
        barrier();
    }
    m = red[0];
    barrier();

    float sum = 0.0;
    for (uint j = tid; j < p.n_kv; j += gl_WorkGroupSize.x) {
        if (visible(j, qp)) sum += exp(x[xr + j] - m);
    }
    red[tid] = sum;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
        if (tid < s) red[tid] += red[tid + s];
        barrier();
    }
    const float inv = red[0] > 0.0 ? 1.0 / red[0] : 0.0;
    for (uint j = tid; j < p.n_kv; j += gl_WorkGroupSize.x) {
        d[dr + j] = visible(j, qp) ? exp(x[xr + j] - m) * inv : 0.0;
    }
}
