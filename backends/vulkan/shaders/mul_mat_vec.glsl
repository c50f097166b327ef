// shaders/mul_mat_vec.glsl — mul_mat for few activation rows (decode: m <= 8), any weight type.
// The wrapper mul_mat_vec_<type>.comp includes quant/<type>.glsl and then this body.
//
// A workgroup of WG invocations (specialization constant 0, a power of two <= 128) computes NR
// consecutive weight rows against all m (<= MAX_M) activation rows of one batch. Invocation t walks
// the row in units of 4 elements (1 for F32/F16/BF16, whose rows may have any length): unit t,
// t + WG, ... so neighbouring invocations read neighbouring bytes; each unit is decoded once
// (dq4) and used for every activation row. Reduction: with QUANTA_SUBGROUP (the wrappers
// mul_mat_vec_sg_<type>.comp, chosen by the backend where the device has subgroup arithmetic in
// compute shaders) subgroupAdd, then one partial per subgroup through shared memory; otherwise a
// shared-memory tree, which every Vulkan device can run.
// Weights are decoded to f32 and dotted with the f32 activations: no activation quantization, so
// the result is the exact dot of the dequantized weights up to f32 rounding.
// QT4, QT3, QT2 (QUANTA_ROTATED): dq4 decodes R w; the backend passes R a (mul_mat_rotate.comp).
layout(local_size_x_id = 0) in;

#ifdef QUANTA_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

#include "mul_mat_params.glsl"

#define NR 4u
#define MAX_M 8u
#define MAX_WG 128u
shared float red[NR * MAX_M][MAX_WG];

void main() {
    const uint t = gl_LocalInvocationID.x;
    const uint wg = gl_WorkGroupSize.x;
    const uint row_first = gl_WorkGroupID.x * NR;
    const uint b = p.batch0 + gl_WorkGroupID.z;
    const uint i2 = b % p.b2, i3 = b / p.b2;
    const uint wb = p.w_off + (i2 / p.r2) * p.w_nb2 + (i3 / p.r3) * p.w_nb3;
    const uint xb = p.x_off + i2 * p.x_nb2 + i3 * p.x_nb3;

    float acc[NR][MAX_M];
    for (uint r = 0u; r < NR; ++r) {
        for (uint j = 0u; j < MAX_M; ++j) acc[r][j] = 0.0;
    }
#if defined(QUANTA_SCALAR)  // F32, F16, BF16: one element per block, rows of any length
    for (uint e = t; e < p.k; e += wg) {
        float xv[MAX_M];
        for (uint j = 0u; j < MAX_M; ++j) xv[j] = j < p.m ? x[xb + j * p.x_nb1 + e] : 0.0;
        for (uint r = 0u; r < NR; ++r) {
            if (row_first + r >= p.n) break;
            const float w = dq(wb + (row_first + r) * p.w_nb1 + e * QB, 0u);
            for (uint j = 0u; j < MAX_M; ++j) {
                if (j >= p.m) break;  // uniform: only the tokens there are
                acc[r][j] += w * xv[j];
            }
        }
    }
#else
    const uint units = p.k / 4u;
    for (uint u = t; u < units; u += wg) {
        const uint e = 4u * u;
        const uint blk = (e / QK) * QB, ie = e % QK;
        vec4 xv[MAX_M];
        for (uint j = 0u; j < MAX_M; ++j) {
            const uint xi = xb + j * p.x_nb1 + e;
            xv[j] = j < p.m ? vec4(x[xi], x[xi + 1u], x[xi + 2u], x[xi + 3u]) : vec4(0.0);
        }
        for (uint r = 0u; r < NR; ++r) {
            if (row_first + r >= p.n) break;
            const vec4 w = dq4(wb + (row_first + r) * p.w_nb1 + blk, ie);
            for (uint j = 0u; j < MAX_M; ++j) {
                if (j >= p.m) break;  // uniform: only the tokens there are
                acc[r][j] += dot(w, xv[j]);
            }
        }
    }
#endif
#ifdef QUANTA_SUBGROUP
    for (uint r = 0u; r < NR; ++r) {
        for (uint j = 0u; j < MAX_M; ++j) {
            const float v = subgroupAdd(acc[r][j]);
            if (subgroupElect()) red[r * MAX_M + j][gl_SubgroupID] = v;
        }
    }
    barrier();
    float sum = 0.0;
    if (t < NR * MAX_M) {
        for (uint sg = 0u; sg < gl_NumSubgroups; ++sg) sum += red[t][sg];
    }
#else
    for (uint r = 0u; r < NR; ++r) {
        for (uint j = 0u; j < MAX_M; ++j) red[r * MAX_M + j][t] = acc[r][j];
    }
    for (uint s = wg / 2u; s > 0u; s /= 2u) {
        barrier();
        if (t < s) {
            for (uint i = 0u; i < NR * MAX_M; ++i) red[i][t] += red[i][t + s];
        }
    }
    barrier();
    const float sum = t < NR * MAX_M ? red[t][0] : 0.0;
#endif
    // Invocation t < NR * m writes one output.
    const uint r = t / MAX_M, j = t % MAX_M;
    if (r < NR && j < p.m && row_first + r < p.n) {
        dst[p.d_off + p.row0 + row_first + r + j * p.d_nb1 + i2 * p.d_nb2 + i3 * p.d_nb3] = sum;
    }
}
