#version 450
// Fused attention, flash style: one workgroup per (query, head). The visible keys are streamed in
// blocks of WG (the workgroup size): invocation t scores key j0 + t (q . k, scale, optional tanh
// soft-cap, -inf when masked), the block's max and exp-weights go through shared memory, and a
// running max / sum / weighted-V accumulator is rescaled per block (online softmax), so no score
// matrix is stored. Each invocation accumulates output dims t, t + WG, ... (hd_v <= 8 * WG).
// Key j is visible to query position pq when kp >= 0 && (!causal || kp <= pq) && (window == 0 ||
// pq - kp < window), kp = kpos[j] (HAS_KPOS) or j. Without kpos only [lo, hi) is visited (the
// visible keys form a range); with kpos every slot is tested (ring buffers hold any order).
// K/V type KT: 0 F32, 1 F16, 2 Q8_0, read through uint words with byte offsets (no 8/16-bit
// storage needed). For Q8_0 the query is rounded through Q8_0 first, as the CPU kernel does.
// GQA: head h reads kv head h / (n_head / n_head_kv).
#extension GL_GOOGLE_include_directive : require
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint KT = 0;
layout(constant_id = 2) const uint HAS_KPOS = 0;
#include "common.glsl"

layout(std430, binding = 0) readonly buffer Q { float q[]; };
layout(std430, binding = 1) readonly buffer K { uint kw[]; };
layout(std430, binding = 2) readonly buffer V { uint vw[]; };
layout(std430, binding = 3) readonly buffer Pos { int pos[]; };
layout(std430, binding = 4) readonly buffer KPos { int kpos[]; };
layout(std430, binding = 5) writeonly buffer D { float d[]; };
layout(push_constant) uniform P {
    uint n_q, n_head, n_head_kv, n_kv;
    uint hd, hd_v, q_first, q_nb1;
    uint q_nb2, k_first, k_nb1, k_nb2;   // k_*, v_*: bytes
    uint v_first, v_nb1, v_nb2, pos_first;
    uint kpos_first, d_first, causal;
    int window;
    float scale, softcap;
} p;

const uint MAX_HD = 512;
const uint MAX_PER = 8;
shared float qs[MAX_HD];
shared float sc[gl_WorkGroupSize.x];

uint byte_at(uint b, bool is_v) {
    const uint w = is_v ? vw[b >> 2] : kw[b >> 2];
    return (w >> ((b & 3u) * 8u)) & 0xFFu;
}

// Element c of the K (is_v false) or V row starting at byte `row`.
float load(uint row, uint c, bool is_v) {
    if (KT == 0) return uintBitsToFloat(is_v ? vw[(row >> 2) + c] : kw[(row >> 2) + c]);
    if (KT == 1) {
        const uint b = row + 2 * c;
        const uint w = is_v ? vw[b >> 2] : kw[b >> 2];
        return unpackHalf2x16(w >> ((b & 2u) * 8u)).x;
    }
    const uint blk = row + (c / 32) * 34;
    const uint dlo = byte_at(blk, is_v), dhi = byte_at(blk + 1, is_v);
    const float scale = unpackHalf2x16(dlo | (dhi << 8)).x;
    const int qv = int(byte_at(blk + 2 + c % 32, is_v) << 24) >> 24;
    return scale * float(qv);
}

void main() {
    const uint wg = group_index();
    if (wg >= p.n_q * p.n_head) return;
    const uint tid = gl_LocalInvocationID.x;
    const uint WG = gl_WorkGroupSize.x;
    const uint h = wg % p.n_head;
    const uint i = wg / p.n_head;
    const uint hk = h / (p.n_head / p.n_head_kv);
    const int pq = pos[p.pos_first + i];

    const uint qrow = p.q_first + h * p.q_nb1 + i * p.q_nb2;
    for (uint c = tid; c < p.hd; c += WG) qs[c] = q[qrow + c];
    barrier();
    if (KT == 2) {  // round the query through Q8_0 (scale d = amax / 127 stored as fp16)
        for (uint b = tid; b < p.hd / 32; b += WG) {
            float amax = 0.0;
            for (uint c = 0; c < 32; ++c) amax = max(amax, abs(qs[b * 32 + c]));
            const float dq = amax / 127.0;
            const float id = dq != 0.0 ? 1.0 / dq : 0.0;
            const float dh = unpackHalf2x16(packHalf2x16(vec2(dq, 0.0))).x;
            for (uint c = 0; c < 32; ++c) {
                const float a = qs[b * 32 + c] * id;
                qs[b * 32 + c] = sign(a) * floor(abs(a) + 0.5) * dh;
            }
        }
        barrier();
    }

    uint lo = 0, hi = p.n_kv;
    if (HAS_KPOS == 0) {
        if (p.causal != 0) hi = uint(clamp(pq + 1, 0, int(p.n_kv)));
        if (p.window > 0) lo = uint(clamp(pq - p.window + 1, 0, int(p.n_kv)));
        if (lo > hi) lo = hi;
    }

    const float NEG_INF = uintBitsToFloat(0xFF800000u);
    float m = NEG_INF, l = 0.0;
    float acc[MAX_PER];
    for (uint t = 0; t < MAX_PER; ++t) acc[t] = 0.0;

    for (uint j0 = lo; j0 < hi; j0 += WG) {
        const uint j = j0 + tid;
        float s = NEG_INF;
        if (j < hi) {
            bool vis = true;
            if (HAS_KPOS != 0) {
                const int kp = kpos[p.kpos_first + j];
                vis = kp >= 0 && (p.causal == 0 || kp <= pq) && (p.window == 0 || pq - kp < p.window);
            }
            if (vis) {
                const uint krow = p.k_first + hk * p.k_nb1 + j * p.k_nb2;
                float dot = 0.0;
                for (uint c = 0; c < p.hd; ++c) dot += qs[c] * load(krow, c, false);
                s = dot * p.scale;
                if (p.softcap > 0.0) s = p.softcap * safe_tanh(s / p.softcap);
            }
        }
        sc[tid] = s;
        barrier();
        float bmax = NEG_INF;
        const uint jn = min(WG, hi - j0);
        for (uint jj = 0; jj < jn; ++jj) bmax = max(bmax, sc[jj]);
        if (bmax > NEG_INF) {  // uniform: every invocation saw the same scores
            const float m_new = max(m, bmax);
            const float corr = exp(m - m_new);  // exp(-inf) = 0 on the first block
            l *= corr;
            for (uint t = 0; t < MAX_PER; ++t) acc[t] *= corr;
            for (uint jj = 0; jj < jn; ++jj) {
                const float sj = sc[jj];
                if (sj == NEG_INF) continue;  // masked: V never read
                const float e = exp(sj - m_new);
                l += e;
                const uint vrow = p.v_first + hk * p.v_nb1 + (j0 + jj) * p.v_nb2;
                for (uint t = 0; t < MAX_PER; ++t) {
                    const uint c = tid + t * WG;
                    if (c < p.hd_v) acc[t] += e * load(vrow, c, true);
                }
            }
            m = m_new;
        }
        barrier();
    }
    const float inv = l > 0.0 ? 1.0 / l : 0.0;
    const uint drow = p.d_first + (i * p.n_head + h) * p.hd_v;
    for (uint t = 0; t < MAX_PER; ++t) {
        const uint c = tid + t * WG;
        if (c < p.hd_v) d[drow + c] = acc[t] * inv;
    }
}
