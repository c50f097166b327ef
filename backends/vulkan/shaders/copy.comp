#version 450
// copy to F32 (any source strides; source F32, F16, BF16 or Q8_0 by specialization constant SRC
// 0-3, copy_src.glsl) and
// set_rows into an F32 cache (SET_ROWS 1: source row r goes to destination row ids[r]; an id out
// of range is skipped and reported through the data-error buffer). One invocation per element.
// F16, BF16 and Q8_0 sources are read as uint words (no 16-bit storage needed): strides are in
// halfwords.
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint SRC = 0;
layout(constant_id = 2) const uint SET_ROWS = 0;
#include "common.glsl"

layout(std430, binding = 0) readonly buffer SF { float sf[]; };
layout(std430, binding = 0) readonly buffer SH { uint sh[]; };
layout(std430, binding = 1) readonly buffer Ids { int ids[]; };
layout(std430, binding = 2) writeonly buffer D { float d[]; };
layout(std430, binding = 3) buffer Err { uint err[]; };
layout(push_constant) uniform P {
    uint ne0, ne1, ne2, ne3;
    uint s_first, s_nb0, s_nb1, s_nb2;
    uint s_nb3, d_first, d_nb1, d_nb2;
    uint d_nb3, ids_first, n_dst_rows, code;
} p;
#include "copy_src.glsl"

void main() {
    const uint idx = group_index() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (idx >= p.ne0 * p.ne1 * p.ne2 * p.ne3) return;
    const uint i0 = idx % p.ne0;
    uint r = idx / p.ne0;
    const uint i1 = r % p.ne1;
    r /= p.ne1;
    const uint i2 = r % p.ne2;
    const uint i3 = r / p.ne2;
    const uint s = p.s_first + (i0 / copy_qk()) * p.s_nb0 + i1 * p.s_nb1 + i2 * p.s_nb2 + i3 * p.s_nb3;
    const float v = copy_load(s, i0);
    uint row = i1;
    if (SET_ROWS != 0) {
        const int id = ids[p.ids_first + i1];
        if (id < 0 || uint(id) >= p.n_dst_rows) {
            if (i0 == 0 && atomicCompSwap(err[0], 0u, p.code) == 0u) {
                err[1] = uint(id);
                err[2] = i1;
                err[3] = p.n_dst_rows;
            }
            return;
        }
        row = uint(id);
    }
    d[p.d_first + i0 + row * p.d_nb1 + i2 * p.d_nb2 + i3 * p.d_nb3] = v;
}
