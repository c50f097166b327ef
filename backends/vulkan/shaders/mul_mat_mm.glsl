// shaders/mul_mat_mm.glsl — tiled mul_mat for many activation rows (prompts: m > 8), any weight
// type. The wrapper mul_mat_mm_<type>.comp includes quant/<type>.glsl and then this body.
//
// A workgroup of 256 invocations computes a BN x BM = 64 x 64 output tile (64 weight rows x 64
// activation rows) of one batch, walking k in steps of BK = 16: each step decodes the 64 x 16
// weight sub-tile once into shared memory as f32 (one dq4 per invocation), loads the 64 x 16
// activation sub-tile beside it, and every invocation accumulates a 4 x 4 block of outputs
// (rows tx + 16i, columns ty + 16j: conflict-free shared reads). So each weight element is decoded
// once per 64 activation rows instead of once per row. Shared memory: 2 x 16 x 65 floats (8 KiB).
// Rows of F32/F16/BF16 may have any length (the k tail is zero-filled); quantized rows are whole
// blocks, a multiple of 16. QT4/QT3/QT2 decode R w and get R a from the backend
// (mul_mat_rotate.comp). Cooperative-matrix (tensor-core) paths are not used: bookworm's glslc
// cannot express them and lavapipe has none.
//
// QUANTA_F16 (the wrappers mul_mat_mm16_<type>.comp, chosen where the device has shaderFloat16;
// tuning.h): the sub-tiles are stored as f16 pairs along k (f16vec2, 4 KiB of shared memory), and
// each pair of k steps is one f16 dot (two f16 products and an f16 add: packed half-precision
// math on GPUs that have it), accumulated into the f32 sums. Error per output: weights and
// activations rounded to f16 (2^-11 relative each) and the pair dot rounded in f16, so within
// ~6 * 2^-11 * sum |w_i x_i| <= 3e-3 * ||w|| * ||x|| of the exact dot; activations or pair sums
// beyond 65504 (f16's largest finite value) become inf. The f32 body below has no such limit.
layout(local_size_x = 256) in;
#ifdef QUANTA_F16
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif

#include "mul_mat_params.glsl"

#define BN 64u
#define BM 64u
#define BK 16u
#ifdef QUANTA_F16
shared f16vec2 ws[BK / 2u][BN + 1u];
shared f16vec2 xs[BK / 2u][BM + 1u];
#else
shared float ws[BK][BN + 1u];
shared float xs[BK][BM + 1u];
#endif

void main() {
    const uint t = gl_LocalInvocationID.x;
    const uint tx = t % 16u, ty = t / 16u;
    const uint n0 = gl_WorkGroupID.x * BN, m0 = gl_WorkGroupID.y * BM;
    const uint b = p.batch0 + gl_WorkGroupID.z;
    const uint i2 = b % p.b2, i3 = b / p.b2;
    const uint wb = p.w_off + (i2 / p.r2) * p.w_nb2 + (i3 / p.r3) * p.w_nb3;
    const uint xb = p.x_off + i2 * p.x_nb2 + i3 * p.x_nb3;
    // Loader roles: invocation t fills row / column lr, elements lk..lk+3 of the k step.
    const uint lr = t / 4u, lk = (t % 4u) * 4u;

    float acc[4][4];
    for (uint i = 0u; i < 4u; ++i) {
        for (uint j = 0u; j < 4u; ++j) acc[i][j] = 0.0;
    }
    for (uint k0 = 0u; k0 < p.k; k0 += BK) {
        const uint e = k0 + lk;
        vec4 w = vec4(0.0);
        if (n0 + lr < p.n) {
            const uint row = wb + (n0 + lr) * p.w_nb1;
#ifdef QUANTA_SCALAR  // F32, F16, BF16: one element per block, rows of any length
            for (uint c = 0u; c < 4u; ++c) {
                if (e + c < p.k) w[c] = dq(row + (e + c) * QB, 0u);
            }
#else
            w = dq4(row + (e / QK) * QB, e % QK);
#endif
        }
        vec4 a = vec4(0.0);
        if (m0 + lr < p.m) {
            const uint xi = xb + (m0 + lr) * p.x_nb1 + e;
            for (uint c = 0u; c < 4u; ++c) {
                if (e + c < p.k) a[c] = x_at(xi + c);
            }
        }
        barrier();  // the previous step's reads are done
#ifdef QUANTA_F16
        ws[lk / 2u][lr] = f16vec2(w.xy);
        ws[lk / 2u + 1u][lr] = f16vec2(w.zw);
        xs[lk / 2u][lr] = f16vec2(a.xy);
        xs[lk / 2u + 1u][lr] = f16vec2(a.zw);
        barrier();
        for (uint kk = 0u; kk < BK / 2u; ++kk) {
            f16vec2 wv[4], xv[4];
            for (uint i = 0u; i < 4u; ++i) {
                wv[i] = ws[kk][tx + 16u * i];
                xv[i] = xs[kk][ty + 16u * i];
            }
            for (uint i = 0u; i < 4u; ++i) {
                for (uint j = 0u; j < 4u; ++j) acc[i][j] += float(dot(wv[i], xv[j]));
            }
        }
#else
        for (uint c = 0u; c < 4u; ++c) {
            ws[lk + c][lr] = w[c];
            xs[lk + c][lr] = a[c];
        }
        barrier();
        for (uint kk = 0u; kk < BK; ++kk) {
            float wv[4], xv[4];
            for (uint i = 0u; i < 4u; ++i) {
                wv[i] = ws[kk][tx + 16u * i];
                xv[i] = xs[kk][ty + 16u * i];
            }
            for (uint i = 0u; i < 4u; ++i) {
                for (uint j = 0u; j < 4u; ++j) acc[i][j] += wv[i] * xv[j];
            }
        }
#endif
    }
    for (uint i = 0u; i < 4u; ++i) {
        const uint nr = n0 + tx + 16u * i;
        if (nr >= p.n) continue;
        for (uint j = 0u; j < 4u; ++j) {
            const uint mc = m0 + ty + 16u * j;
            if (mc < p.m) dst[p.d_off + p.row0 + nr + mc * p.d_nb1 + i2 * p.d_nb2 + i3 * p.d_nb3] = acc[i][j];
        }
    }
}
