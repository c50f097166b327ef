// quant/search.cpp — weighted scale searches (see search.h for the algorithm and its contract).
//
// The candidate fan follows the observation behind ggml's make_qx_quants / make_qkx2_quants: the
// max-based scale is rarely optimal, because clipping the single largest element slightly lets
// every other element use a finer grid. Scoring a candidate is cheap once the assignment is fixed:
// the best scale for a fixed assignment is the weighted least-squares solution, and its error is
// sum(w x^2) - (sum w x q)^2 / sum(w q^2), so the symmetric search only maximises that last ratio.
#include "quant/search.h"

#include <algorithm>
#include <cmath>

namespace quanta::quant {

namespace {

constexpr int kFanSteps = 9;  // candidates at t = -9..9 around each anchor

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

struct SymFit {
    float sumxq = 0.0f;
    float sumqq = 0.0f;
    bool better_than(const SymFit & o) const {
        if (sumqq <= 0.0f) return false;
        if (o.sumqq <= 0.0f) return true;
        return sumxq * sumxq * o.sumqq > o.sumxq * o.sumxq * sumqq;
    }
};

// Eight partial sums per quantity so the loop vectorizes without reassociating float math.
SymFit fit_symmetric(const float * x, const float * w, int n, int qmin, int qmax, float iscale, int8_t * q) {
    float sxq[8] = {}, sqq[8] = {};
    for (int i0 = 0; i0 < n; i0 += 8) {
        for (int k = 0; k < 8; ++k) {
            const int i = i0 + k;
            const int l = clampi(nearest_int(x[i] * iscale), qmin, qmax);
            q[i] = int8_t(l);
            sxq[k] += w[i] * x[i] * float(l);
            sqq[k] += w[i] * float(l * l);
        }
    }
    SymFit f;
    for (int k = 0; k < 8; ++k) {
        f.sumxq += sxq[k];
        f.sumqq += sqq[k];
    }
    return f;
}

}  // namespace

void element_weights(const float * importance, int n, float * w) {
    float imax = 0.0f;
    if (importance) {
        for (int i = 0; i < n; ++i) imax = std::max(imax, importance[i]);
    }
    if (!(imax > 0.0f) || !std::isfinite(imax)) {
        for (int i = 0; i < n; ++i) w[i] = 1.0f;
        return;
    }
    // A column no calibration token ever touched still gets a tiny weight, so a group of such
    // columns keeps a well-posed least-squares problem.
    const float floor = 1e-6f * imax;
    for (int i = 0; i < n; ++i) w[i] = std::max(importance[i], floor);
}

float search_scale_symmetric(const float * x, const float * w, int n, int qmin, int qmax, int8_t * q) {
    float amax = 0.0f, vmax = 0.0f;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) { amax = std::fabs(x[i]); vmax = x[i]; }
    }
    if (!(amax > 1e-30f)) {
        for (int i = 0; i < n; ++i) q[i] = 0;
        return 0.0f;
    }
    int8_t tmp[256];
    SymFit best;
    for (int anchor : {qmin, qmax}) {
        if (anchor == 0) continue;
        const float sign = anchor < 0 ? -1.0f : 1.0f;
        for (int t = -kFanSteps; t <= kFanSteps; ++t) {
            const float iscale = (float(anchor) + sign * 0.1f * float(t)) / vmax;
            const SymFit f = fit_symmetric(x, w, n, qmin, qmax, iscale, tmp);
            if (f.better_than(best)) {
                best = f;
                std::copy(tmp, tmp + n, q);
            }
        }
    }
    if (best.sumqq <= 0.0f) {
        for (int i = 0; i < n; ++i) q[i] = 0;
        return 0.0f;
    }
    float d = best.sumxq / best.sumqq;
    // Lloyd rounds: re-assign to the fitted scale, re-fit, keep while it helps.
    for (int round = 0; round < 3 && d != 0.0f; ++round) {
        const SymFit f = fit_symmetric(x, w, n, qmin, qmax, 1.0f / d, tmp);
        if (!f.better_than(best)) break;
        best = f;
        std::copy(tmp, tmp + n, q);
        d = best.sumxq / best.sumqq;
    }
    return d;
}

namespace {

struct AsymFit {
    float d = 0.0f, m = 0.0f, err = INFINITY;
};

AsymFit fit_offset(const float * x, const float * w, int n, int qmax, bool min_le_zero, const uint8_t * q) {
    float pa[8] = {}, pb[8] = {}, pc[8] = {}, px[8] = {}, py[8] = {};
    for (int i0 = 0; i0 < n; i0 += 8) {
        for (int k = 0; k < 8; ++k) {
            const int i = i0 + k;
            const float l = float(q[i]);
            pa[k] += w[i] * l * l;
            pb[k] += w[i] * l;
            pc[k] += w[i];
            px[k] += w[i] * l * x[i];
            py[k] += w[i] * x[i];
        }
    }
    float a = 0, b = 0, c = 0, sx = 0, sy = 0;
    for (int k = 0; k < 8; ++k) {
        a += pa[k];
        b += pb[k];
        c += pc[k];
        sx += px[k];
        sy += py[k];
    }
    AsymFit f;
    const float det = a * c - b * b;
    if (det > 0.0f) {
        f.d = (sx * c - b * sy) / det;
        f.m = (a * sy - b * sx) / det;
    } else {
        f.d = 0.0f;
        f.m = c > 0.0f ? sy / c : 0.0f;
    }
    if (min_le_zero && f.m > 0.0f) {
        f.m = 0.0f;
        f.d = a > 0.0f ? sx / a : 0.0f;
    }
    if (f.d < 0.0f) f.d = 0.0f;
    (void)qmax;
    float pe[8] = {};
    for (int i0 = 0; i0 < n; i0 += 8) {
        for (int k = 0; k < 8; ++k) {
            const float e = f.d * float(q[i0 + k]) + f.m - x[i0 + k];
            pe[k] += w[i0 + k] * e * e;
        }
    }
    float err = 0.0f;
    for (int k = 0; k < 8; ++k) err += pe[k];
    f.err = err;
    return f;
}

void assign_offset(const float * x, int n, int qmax, float iscale, float m, uint8_t * q) {
    for (int i = 0; i < n; ++i) q[i] = uint8_t(clampi(nearest_int((x[i] - m) * iscale), 0, qmax));
}

}  // namespace

void search_scale_offset(const float * x, const float * w, int n, int qmax, bool min_le_zero,
                         uint8_t * q, float * d, float * m) {
    float xmin = x[0], xmax = x[0];
    for (int i = 1; i < n; ++i) {
        xmin = std::min(xmin, x[i]);
        xmax = std::max(xmax, x[i]);
    }
    if (min_le_zero) xmin = std::min(xmin, 0.0f);
    if (!(xmax > xmin)) {
        for (int i = 0; i < n; ++i) q[i] = 0;
        *d = 0.0f;
        *m = xmin;
        return;
    }
    uint8_t tmp[256];
    AsymFit best;
    for (int t = -kFanSteps; t <= kFanSteps; ++t) {
        const float iscale = (float(qmax) + 0.1f * float(t)) / (xmax - xmin);
        assign_offset(x, n, qmax, iscale, xmin, tmp);
        const AsymFit f = fit_offset(x, w, n, qmax, min_le_zero, tmp);
        if (f.err < best.err) {
            best = f;
            std::copy(tmp, tmp + n, q);
        }
    }
    for (int round = 0; round < 3 && best.d > 0.0f; ++round) {
        assign_offset(x, n, qmax, 1.0f / best.d, best.m, tmp);
        const AsymFit f = fit_offset(x, w, n, qmax, min_le_zero, tmp);
        if (!(f.err < best.err)) break;
        best = f;
        std::copy(tmp, tmp + n, q);
    }
    *d = best.d;
    *m = best.m;
}

GridLut make_grid_lut(const int8_t * grid16) {
    GridLut g{};
    for (int k = 0; k < 16; ++k) g.grid[k] = grid16[k];
    for (int c = 0; c < 512; ++c) {
        const float v = float(c) * 0.5f - 128.0f + 0.25f;  // cell centre
        int idx = 0;
        for (int k = 0; k < 15; ++k) idx += v > 0.5f * float(grid16[k] + grid16[k + 1]) ? 1 : 0;
        g.idx[c] = uint8_t(idx);
    }
    return g;
}

const GridLut & iq4_grid() {
    static const int8_t kValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    static const GridLut g = make_grid_lut(kValues);
    return g;
}

float search_scale_grid(const float * x, const float * w, int n, const GridLut & lut, uint8_t * q) {
    const int8_t * grid16 = lut.grid;
    float amax = 0.0f, vmax = 0.0f;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) { amax = std::fabs(x[i]); vmax = x[i]; }
    }
    const int zero_idx = grid_index(lut, 0.0f);
    if (!(amax > 1e-30f)) {
        for (int i = 0; i < n; ++i) q[i] = uint8_t(zero_idx);
        return 0.0f;
    }
    uint8_t tmp[256];
    SymFit best;
    auto try_scale = [&](float iscale) {
        float sxq[8] = {}, sqq[8] = {};
        for (int i0 = 0; i0 < n; i0 += 8) {
            for (int k = 0; k < 8; ++k) {
                const int i = i0 + k;
                const int j = grid_index(lut, x[i] * iscale);
                tmp[i] = uint8_t(j);
                const float g = float(grid16[j]);
                sxq[k] += w[i] * x[i] * g;
                sqq[k] += w[i] * g * g;
            }
        }
        SymFit f;
        for (int k = 0; k < 8; ++k) {
            f.sumxq += sxq[k];
            f.sumqq += sqq[k];
        }
        if (f.better_than(best)) {
            best = f;
            std::copy(tmp, tmp + n, q);
            return true;
        }
        return false;
    };
    for (int anchor : {int(grid16[0]), int(grid16[15])}) {
        const float sign = anchor < 0 ? -1.0f : 1.0f;
        for (int t = -kFanSteps; t <= kFanSteps; ++t) try_scale((float(anchor) + sign * float(t)) / vmax);
    }
    if (best.sumqq <= 0.0f) {
        for (int i = 0; i < n; ++i) q[i] = uint8_t(zero_idx);
        return 0.0f;
    }
    for (int round = 0; round < 3; ++round) {
        const float d = best.sumxq / best.sumqq;
        if (d == 0.0f || !try_scale(1.0f / d)) break;
    }
    return best.sumxq / best.sumqq;
}

}  // namespace quanta::quant
