#version 450
// copy and set_rows into 16-bit-addressed destinations (needs storageBuffer16BitAccess; the host
// registers these kernels only where the device has it): DST 1 = F16, one invocation per element;
// DST 2 = Q8_0, one invocation per 32-element block (d = amax / 127 as fp16, q = round(x / d) half
// away from zero, as quant/legacy.cpp). Source F32, F16, BF16 or Q8_0 (SRC 0-3, copy_src.glsl;
// all but F32 read as uint words).
// SET_ROWS 1: source row r goes to destination row ids[r] (out-of-range ids: skipped, reported).
// Destination strides are in halfwords (a Q8_0 block is 17 of them).
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_shader_16bit_storage : require
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint SRC = 0;
layout(constant_id = 2) const uint SET_ROWS = 0;
layout(constant_id = 3) const uint DST = 1;
#include "common.glsl"

layout(std430, binding = 0) readonly buffer SF { float sf[]; };
layout(std430, binding = 0) readonly buffer SH { uint sh[]; };
layout(std430, binding = 1) readonly buffer Ids { int ids[]; };
layout(std430, binding = 2) writeonly buffer D { uint16_t d[]; };
layout(std430, binding = 3) buffer Err { uint err[]; };
layout(push_constant) uniform P {
    uint ne0, ne1, ne2, ne3;
    uint s_first, s_nb0, s_nb1, s_nb2;
    uint s_nb3, d_first, d_nb1, d_nb2;
    uint d_nb3, ids_first, n_dst_rows, code;
} p;

#include "copy_src.glsl"
// Element e of the source row starting at srow.
float load(uint srow, uint e) { return copy_load(srow + (e / copy_qk()) * p.s_nb0, e); }

uint16_t half_bits(float v) { return uint16_t(packHalf2x16(vec2(v, 0.0)) & 0xFFFFu); }

void main() {
    const uint per_row = DST == 2 ? p.ne0 / 32 : p.ne0;  // work items per row
    const uint idx = group_index() * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
    if (idx >= per_row * p.ne1 * p.ne2 * p.ne3) return;
    const uint j = idx % per_row;
    uint r = idx / per_row;
    const uint i1 = r % p.ne1;
    r /= p.ne1;
    const uint i2 = r % p.ne2;
    const uint i3 = r / p.ne2;
    const uint srow = p.s_first + i1 * p.s_nb1 + i2 * p.s_nb2 + i3 * p.s_nb3;
    uint row = i1;
    if (SET_ROWS != 0) {
        const int id = ids[p.ids_first + i1];
        if (id < 0 || uint(id) >= p.n_dst_rows) {
            if (j == 0 && atomicCompSwap(err[0], 0u, p.code) == 0u) {
                err[1] = uint(id);
                err[2] = i1;
                err[3] = p.n_dst_rows;
            }
            return;
        }
        row = uint(id);
    }
    const uint drow = p.d_first + row * p.d_nb1 + i2 * p.d_nb2 + i3 * p.d_nb3;
    if (DST == 1) {
        d[drow + j] = half_bits(load(srow, j));
        return;
    }
    float v[32];
    float amax = 0.0;
    for (uint k = 0; k < 32; ++k) {
        v[k] = load(srow, j * 32 + k);
        amax = max(amax, abs(v[k]));
    }
    const float dq = amax / 127.0;
    const float id = dq != 0.0 ? 1.0 / dq : 0.0;
    const uint b = drow + j * 17;
    d[b] = half_bits(dq);
    for (uint k = 0; k < 16; ++k) {
        const float a = v[2 * k] * id, c = v[2 * k + 1] * id;
        const int qa = int(sign(a) * floor(abs(a) + 0.5)), qc = int(sign(c) * floor(abs(c) + 0.5));
        d[b + 1 + k] = uint16_t((uint(qa) & 0xFFu) | ((uint(qc) & 0xFFu) << 8));
    }
}
