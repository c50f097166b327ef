#version 450
// rms_norm fused with its weight: y = x / sqrt(mean(x^2) + eps) * w, one workgroup per row of x;
// each invocation sums the squares of a strided part of the row, a shared-memory tree adds them.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) writeonly buffer D { float d[]; };
layout(push_constant) uniform P {
    uint n, ne1, ne2, n_rows;
    uint x_first, x_nb1, x_nb2, x_nb3;
    uint w_first, d_first;
    float eps;
} p;

shared float red[gl_WorkGroupSize.x];

void main() {
    const uint row = group_index();
    if (row >= p.n_rows) return;
    const uint tid = gl_LocalInvocationID.x;
    const uint i1 = row % p.ne1;
    const uint i2 = (row / p.ne1) % p.ne2;
    const uint i3 = row / (p.ne1 * p.ne2);
    const uint xr = p.x_first + i1 * p.x_nb1 + i2 * p.x_nb2 + i3 * p.x_nb3;
    float ss = 0.0;
    for (uint i = tid; i < p.n; i += gl_WorkGroupSize.x) ss += x[xr + i] * x[xr + i];
    red[tid] = ss;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
        if (tid < s) red[tid] += red[tid + s];
        barrier();
    }
    const float scale = 1.0 / sqrt(red[0] / float(p.n) + p.eps);
    const uint dr = p.d_first + row * p.n;
    for (uint i = tid; i < p.n; i += gl_WorkGroupSize.x) d[dr + i] = x[xr + i] * scale * w[p.w_first + i];
}
