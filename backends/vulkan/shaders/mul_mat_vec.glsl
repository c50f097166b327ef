// shaders/mul_mat_vec.glsl — mul_mat for few activation rows (decode: m <= 8), any weight type.
// The wrapper mul_mat_vec_<type>.comp includes quant/<type>.glsl and then this body.
//
// Specialization constants (chosen per device by tuning.cpp, shown by `quanta version`):
//   0  WG: invocations per workgroup (local_size_x_id), a power of two <= 256;
//   1  NR: consecutive weight rows per workgroup (1..8);
//   2  NP: partial sums per output kept in shared memory: WG / subgroup size for the subgroup
//      variant, WG for the shared-memory tree.
// A workgroup computes NR weight rows against all m (<= MAX_M) activation rows of one batch.
// Invocation t walks the row in units of 4 elements (1 for F32/F16/BF16, whose rows may have any
// length): unit t, t + WG, ... so neighbouring invocations read neighbouring 32-bit weight words
// (coalesced) and, where the activation rows start at whole vec4s (the usual case), loads its 4
// activations as one 128-bit vec4 (x4, an alias of binding 1); each unit is decoded once (dq4) and
// used for every activation row present. Only
// the NR x m outputs that exist are reduced (m is uniform): with QUANTA_SUBGROUP (the wrappers
// mul_mat_vec_sg_<type>.comp, chosen where the device has subgroup arithmetic in compute shaders)
// subgroupAdd, and, when the workgroup holds more than one subgroup, one partial per subgroup
// through shared memory; otherwise a shared-memory tree, which every Vulkan device can run.
// Trade-off: larger WG x NR means fewer workgroups and less per-workgroup reduction cost per
// weight byte, but fewer workgroups in flight for short matrices; tuning.cpp picks per device.
// Weights are decoded to f32 and dotted with the f32 activations: no activation quantization, so
// the result is the exact dot of the dequantized weights up to f32 rounding.
// QT4, QT3, QT2 (QUANTA_ROTATED): dq4 decodes R w; the backend passes R a (mul_mat_rotate.comp).
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint NR = 4u;
layout(constant_id = 2) const uint NP = 64u;

#ifdef QUANTA_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

#include "mul_mat_params.glsl"

#define MAX_M 8u
shared float red[NR * MAX_M * NP];
layout(std430, binding = 1) readonly buffer X4 { vec4 x4[]; };

// Activations xi..xi+3 (xi a multiple of 4 from the row start). vec4_ok: F32 rows at whole vec4s.
vec4 x_at4(uint xi, bool vec4_ok) {
    if (X_F16 != 0u) {
        if ((xi & 1u) == 0u) return vec4(unpackHalf2x16(xh[xi >> 1]), unpackHalf2x16(xh[(xi >> 1) + 1u]));
        return vec4(x_at(xi), x_at(xi + 1u), x_at(xi + 2u), x_at(xi + 3u));
    }
    return vec4_ok ? x4[xi >> 2] : vec4(x[xi], x[xi + 1u], x[xi + 2u], x[xi + 3u]);
}

void main() {
    const uint t = gl_LocalInvocationID.x;
    const uint wg = gl_WorkGroupSize.x;
    const uint row_first = gl_WorkGroupID.x * NR;
    const uint b = p.batch0 + gl_WorkGroupID.z;
    const uint i2 = b % p.b2, i3 = b / p.b2;
    const uint wb = p.w_off + (i2 / p.r2) * p.w_nb2 + (i3 / p.r3) * p.w_nb3;
    const uint xb = p.x_off + i2 * p.x_nb2 + i3 * p.x_nb3;
    // Rows of this workgroup that exist (the last workgroup may hold fewer).
    const uint nr = min(NR, p.n - row_first);

    float acc[NR][MAX_M];
    for (uint r = 0u; r < NR; ++r) {
        for (uint j = 0u; j < MAX_M; ++j) acc[r][j] = 0.0;
    }
#if defined(QUANTA_SCALAR)  // F32, F16, BF16: one element per block, rows of any length
    for (uint e = t; e < p.k; e += wg) {
        float xv[MAX_M];
        for (uint j = 0u; j < MAX_M; ++j) {
            if (j >= p.m) break;  // uniform: only the tokens there are
            xv[j] = x_at(xb + j * p.x_nb1 + e);
        }
        for (uint r = 0u; r < NR; ++r) {
            if (r >= nr) break;
            const float w = dq(wb + (row_first + r) * p.w_nb1 + e * QB, 0u);
            for (uint j = 0u; j < MAX_M; ++j) {
                if (j >= p.m) break;
                acc[r][j] += w * xv[j];
            }
        }
    }
#else
    const uint units = p.k / 4u;
    const bool x_vec4 = (xb & 3u) == 0u && (p.x_nb1 & 3u) == 0u;  // uniform
    for (uint u = t; u < units; u += wg) {
        const uint e = 4u * u;
        const uint blk = (e / QK) * QB, ie = e % QK;
        vec4 xv[MAX_M];
        for (uint j = 0u; j < MAX_M; ++j) {
            if (j >= p.m) break;  // uniform: only the tokens there are
            const uint xi = xb + j * p.x_nb1 + e;
            xv[j] = x_at4(xi, x_vec4);
        }
        for (uint r = 0u; r < NR; ++r) {
            if (r >= nr) break;
            const vec4 w = dq4(wb + (row_first + r) * p.w_nb1 + blk, ie);
            for (uint j = 0u; j < MAX_M; ++j) {
                if (j >= p.m) break;
                acc[r][j] += dot(w, xv[j]);
            }
        }
    }
#endif
    const uint d0 = p.d_off + p.row0 + row_first + i2 * p.d_nb2 + i3 * p.d_nb3;
#ifdef QUANTA_SUBGROUP
    if (gl_NumSubgroups == 1u) {  // uniform: the subgroup is the workgroup, no shared memory
        for (uint r = 0u; r < NR; ++r) {
            if (r >= nr) break;
            for (uint j = 0u; j < MAX_M; ++j) {
                if (j >= p.m) break;
                const float v = subgroupAdd(acc[r][j]);
                if (subgroupElect()) dst[d0 + r + j * p.d_nb1] = v;
            }
        }
        return;
    }
    for (uint r = 0u; r < NR; ++r) {
        for (uint j = 0u; j < MAX_M; ++j) {
            if (j >= p.m) break;
            const float v = subgroupAdd(acc[r][j]);
            if (subgroupElect()) red[(r * MAX_M + j) * NP + gl_SubgroupID] = v;
        }
    }
    barrier();
    for (uint o = t; o < NR * p.m; o += wg) {
        const uint r = o / p.m, j = o % p.m;
        float sum = 0.0;
        for (uint sg = 0u; sg < gl_NumSubgroups; ++sg) sum += red[(r * MAX_M + j) * NP + sg];
        if (r < nr) dst[d0 + r + j * p.d_nb1] = sum;
    }
#else
    for (uint r = 0u; r < NR; ++r) {
        for (uint j = 0u; j < MAX_M; ++j) {
            if (j >= p.m) break;
            red[(r * MAX_M + j) * NP + t] = acc[r][j];
        }
    }
    for (uint s = wg / 2u; s > 0u; s /= 2u) {
        barrier();
        if (t < s) {
            for (uint r = 0u; r < NR; ++r) {
                for (uint j = 0u; j < MAX_M; ++j) {
                    if (j >= p.m) break;
                    red[(r * MAX_M + j) * NP + t] += red[(r * MAX_M + j) * NP + t + s];
                }
            }
        }
    }
    barrier();
    for (uint o = t; o < NR * p.m; o += wg) {
        const uint r = o / p.m, j = o % p.m;
        if (r < nr) dst[d0 + r + j * p.d_nb1] = red[(r * MAX_M + j) * NP];
    }
#endif
}
