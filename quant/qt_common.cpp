// quant/qt_common.cpp — the block quantizer QT3 and QT2 share (contract in qt_common.h).
//
// Same search as QT4's (quant/qt4.cpp), written once for any small grid and with element weights,
// so QT3 and QT2 differ only in their grid and their bit packing.
#include "quant/qt_common.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/qt4.h"
#include "quant/status.h"

namespace quanta::quant {

namespace {

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

}  // namespace

QtGrid make_qt_grid(const int8_t * levels, int n_levels) {
    QUANTA_CHECK(n_levels == 4 || n_levels == 8 || n_levels == 16);
    QtGrid g{};
    g.n_levels = n_levels;
    g.shift = n_levels == 16 ? 0 : (n_levels == 8 ? 1 : 2);
    int8_t rep[16];
    for (int k = 0; k < n_levels; ++k) g.levels[k] = levels[k];
    for (int k = 0; k < 16; ++k) rep[k] = levels[k >> g.shift];
    for (int k = 1; k < n_levels; ++k) QUANTA_CHECK(levels[k - 1] < levels[k]);
    g.lut = make_grid_lut(rep);
    return g;
}

void qt_rotate_and_weigh(const float * src, const float * importance, float * x, float * w) {
    std::memcpy(x, src, sizeof(float) * kQTBlock);
    for (int r = 0; r < kQTBlock / kRotation; ++r) {
        rotate_256(x + r * kRotation);
        float wr = 1.0f;
        if (importance) {
            float ew[kRotation];
            element_weights(importance + r * kRotation, kRotation, ew);
            double s = 0.0;
            for (float v : ew) s += double(v);
            wr = float(s / kRotation);
            if (!(wr > 0.0f) || !std::isfinite(wr)) wr = 1.0f;
        }
        for (int k = 0; k < kRotation; ++k) w[r * kRotation + k] = wr;
    }
}

uint16_t qt_quantize_scales(const float * x, const float * w, const QtGrid & grid, int sub, int * ls, uint8_t * idx) {
    const int n_sub = kQTBlock / sub;
    const GridLut & lut = grid.lut;
    const int sh = grid.shift;
    float sc[kQTBlock / 8];
    float amax = 0.0f;
    for (int j = 0; j < n_sub; ++j) {
        uint8_t q16[kQTBlock];
        sc[j] = search_scale_grid(x + sub * j, w + sub * j, sub, lut, q16);
        amax = std::max(amax, std::fabs(sc[j]));
    }
    uint16_t d16 = fp32_to_fp16(amax / 63.0f);
    auto sub_error = [&](int j, int l, float ds) {
        const float dl = ds * float(l);
        const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
        float e = 0.0f;
        for (int k = sub * j; k < sub * j + sub; ++k) {
            const float v = dl * float(grid.levels[grid_index(lut, x[k] * idl) >> sh]) - x[k];
            e += w[k] * v * v;
        }
        return e;
    };
    for (int pass = 0; pass < 2; ++pass) {
        const float ds = fp16_to_fp32(d16);
        const float ids = ds != 0.0f ? 1.0f / ds : 0.0f;
        for (int j = 0; j < n_sub; ++j) {
            const int base = clampi(round_away(sc[j] * ids), -63, 63);
            int best = base;
            float best_e = sub_error(j, base, ds);
            for (int l : {base - 1, base + 1}) {
                if (l < -63 || l > 63) continue;
                const float e = sub_error(j, l, ds);
                if (e < best_e) { best_e = e; best = l; }
            }
            ls[j] = best;
            const float dl = ds * float(best);
            const float idl = dl != 0.0f ? 1.0f / dl : 0.0f;
            for (int k = sub * j; k < sub * j + sub; ++k) idx[k] = uint8_t(grid_index(lut, x[k] * idl) >> sh);
        }
        if (pass == 1) break;
        // Weighted least-squares refit of the super-scale for the chosen scales and levels.
        double sxu = 0.0, suu = 0.0;
        for (int k = 0; k < kQTBlock; ++k) {
            const double u = double(ls[k / sub]) * grid.levels[idx[k]];
            sxu += double(w[k]) * double(x[k]) * u;
            suu += double(w[k]) * u * u;
        }
        if (suu > 0.0) {
            const uint16_t nd = fp32_to_fp16(float(sxu / suu));
            if (fp16_to_fp32(nd) > 0.0f) {
                for (int j = 0; j < n_sub; ++j) sc[j] = float(ls[j]) * fp16_to_fp32(d16);
                d16 = nd;
            }
        }
    }
    return d16;
}

void qt_pack_scales(const int * ls, int n, uint8_t * lo, uint8_t * hi, uint8_t * signs) {
    std::memset(lo, 0, size_t(n / 2));
    std::memset(hi, 0, size_t(n / 4));
    std::memset(signs, 0, size_t(n / 8));
    for (int j = 0; j < n; ++j) {
        const int m = ls[j] < 0 ? -ls[j] : ls[j];
        lo[j >> 1] = uint8_t(lo[j >> 1] | ((m & 0xF) << (4 * (j & 1))));
        hi[j >> 2] = uint8_t(hi[j >> 2] | ((m >> 4) << (2 * (j & 3))));
        if (ls[j] < 0) signs[j >> 3] = uint8_t(signs[j >> 3] | (1 << (j & 7)));
    }
}

namespace {

// delta^T M delta for M = R diag(dw) R^T: sum_i dw_i (R^T delta)_i^2. Leaves R^T delta in u.
float quad_form(const float * delta, const float * dw, float * u) {
    std::memcpy(u, delta, sizeof(float) * kRotation);
    unrotate_256(u);
    float q = 0.0f;
    for (int i = 0; i < kRotation; ++i) q += dw[i] * u[i] * u[i];
    return q;
}

// h += M delta, given u = R^T delta.
void add_m_delta(float * u, const float * dw, float * h) {
    for (int i = 0; i < kRotation; ++i) u[i] *= dw[i];
    rotate_256(u);
    for (int i = 0; i < kRotation; ++i) h[i] += u[i];
}

}  // namespace

void qt_refine_importance(const float * x, const float * importance, const QtGrid & grid, uint16_t d, int sub, int * ls,
                          uint8_t * idx) {
    const float ds = fp16_to_fp32(d);
    const int sh = grid.shift;
    for (int r = 0; r < kQTBlock / kRotation; ++r) {
        const float * xr = x + r * kRotation;
        uint8_t * ir = idx + r * kRotation;
        int * lr = ls + r * kRotation / sub;
        float dw[kRotation];
        element_weights(importance + r * kRotation, kRotation, dw);
        double mean = 0.0;
        for (float v : dw) mean += double(v);
        const float m_ii = float(mean / kRotation);  // diagonal of M (|R_ik| = 1/16)
        // h = M (r_hat - x): half the gradient of the weighted loss in the rotated domain.
        float h[kRotation], u[kRotation];
        for (int i = 0; i < kRotation; ++i) h[i] = ds * float(lr[i / sub]) * float(grid.levels[ir[i]]) - xr[i];
        unrotate_256(h);
        for (int i = 0; i < kRotation; ++i) h[i] *= dw[i];
        rotate_256(h);
        for (int pass = 0; pass < 3; ++pass) {
            // Scale moves: the whole sub-block's change delta, loss change 2 delta.h + delta^T M delta.
            for (int j = 0; j < kRotation / sub; ++j) {
                const int k0 = j * sub;
                const float old_s = ds * float(lr[j]);
                int best_l = lr[j];
                float best_dl = 0.0f;
                uint8_t best_idx[kRotation];
                float best_delta[kRotation];
                for (int l : {lr[j] - 2, lr[j] - 1, lr[j] + 1, lr[j] + 2}) {
                    if (l < -63 || l > 63) continue;
                    const float s = ds * float(l);
                    const float is = s != 0.0f ? 1.0f / s : 0.0f;
                    float delta[kRotation] = {};
                    uint8_t cand[kRotation];
                    float lin = 0.0f;
                    for (int k = k0; k < k0 + sub; ++k) {
                        cand[k - k0] = uint8_t(grid_index(grid.lut, xr[k] * is) >> sh);
                        delta[k] = s * float(grid.levels[cand[k - k0]]) - old_s * float(grid.levels[ir[k]]);
                        lin += delta[k] * h[k];
                    }
                    const float dl = 2.0f * lin + quad_form(delta, dw, u);
                    if (dl < best_dl) {
                        best_dl = dl;
                        best_l = l;
                        std::memcpy(best_idx, cand, size_t(sub));
                        std::memcpy(best_delta, delta, sizeof delta);
                    }
                }
                if (best_l == lr[j]) continue;
                lr[j] = best_l;
                std::memcpy(ir + k0, best_idx, size_t(sub));
                quad_form(best_delta, dw, u);
                add_m_delta(u, dw, h);
            }
            // Level moves: one element at a time, loss change 2 delta h_i + delta^2 M_ii.
            for (int i = 0; i < kRotation; ++i) {
                const float s = ds * float(lr[i / sub]);
                int best = ir[i];
                float best_dl = 0.0f, best_delta = 0.0f;
                for (int c : {ir[i] - 1, ir[i] + 1}) {
                    if (c < 0 || c >= grid.n_levels) continue;
                    const float delta = s * float(grid.levels[c] - grid.levels[ir[i]]);
                    const float dl = 2.0f * delta * h[i] + delta * delta * m_ii;
                    if (dl < best_dl) { best_dl = dl; best = c; best_delta = delta; }
                }
                if (best == ir[i]) continue;
                ir[i] = uint8_t(best);
                float col[kRotation] = {};
                col[i] = best_delta;
                quad_form(col, dw, u);
                add_m_delta(u, dw, h);
            }
        }
    }
}

void qt_pack2(const uint8_t * idx, uint8_t * plane) {
    std::memset(plane, 0, 128);
    for (int e = 0; e < kQTBlock; ++e) {
        plane[16 * (e >> 6) + (e & 15)] = uint8_t(plane[16 * (e >> 6) + (e & 15)] | ((idx[e] & 3) << (2 * ((e >> 4) & 3))));
    }
}

}  // namespace quanta::quant
