#version 450
// argmax of each row of x [n, rows...] -> I32, one workgroup per row: the first index of the
// largest non-NaN value (0 when every value is NaN), as the CPU kernel. Each invocation scans a
// strided part of the row, then a shared-memory reduction keeps (value, index) by the same rule.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer D { int d[]; };
layout(push_constant) uniform P {
    uint n, ne1, ne2, n_rows;
    uint x_first, x_nb1, x_nb2, x_nb3;
    uint d_first;
} p;

shared float sv[gl_WorkGroupSize.x];
shared uint si[gl_WorkGroupSize.x];

// True when (v, i) should replace (bv, bi).
bool better(float v, uint i, float bv, uint bi) {
    if (isnan(v)) return false;
    if (isnan(bv)) return true;
    return v > bv || (v == bv && i < bi);
}

void main() {
    const uint row = group_index();
    if (row >= p.n_rows) return;
    const uint tid = gl_LocalInvocationID.x;
    const uint i1 = row % p.ne1;
    const uint i2 = (row / p.ne1) % p.ne2;
    const uint i3 = row / (p.ne1 * p.ne2);
    const uint xr = p.x_first + i1 * p.x_nb1 + i2 * p.x_nb2 + i3 * p.x_nb3;
    float bv = uintBitsToFloat(0x7FC00000u);  // NaN: any number beats it
    uint bi = 0xFFFFFFFFu;
    for (uint i = tid; i < p.n; i += gl_WorkGroupSize.x) {
        const float v = x[xr + i];
        if (better(v, i, bv, bi)) { bv = v; bi = i; }
    }
    sv[tid] = bv;
    si[tid] = bi;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
        if (tid < s && better(sv[tid + s], si[tid + s], sv[tid], si[tid])) {
            sv[tid] = sv[tid + s];
            si[tid] = si[tid + s];
        }
        barrier();
    }
    if (tid == 0) d[p.d_first + row] = si[0] == 0xFFFFFFFFu ? 0 : int(si[0]);
}
