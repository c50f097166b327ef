// quant/search.h — scale searches shared by every quantizer that is not plain round-to-nearest.
//
// Each search fits one group of n weights x[] (n <= 256, a multiple of 8) with per-element importance w[] (> 0):
// it tries a fan of candidate scales around the naive max-based one, assigns every element its
// nearest level under each candidate, solves the weighted least-squares scale (and offset) for
// that assignment in closed form, keeps the candidate with the smallest weighted squared error,
// then runs a few assign/refit (Lloyd) rounds. Everything is a pure function of its inputs, so
// the same weights give the same bytes on every machine and thread count.
//
// Weights: with no imatrix every element has weight 1 (the quantizer minimises plain squared
// error); with an imatrix, w[i] = importance[i] = E[a_i^2] over calibration activations, so the
// search minimises the expected squared error of the layer's output, sum_i (dw_i)^2 E[a_i^2].
#pragma once

#include <cstdint>

namespace quanta::quant {

// x ~= d * q, q integer in [qmin, qmax] (e.g. -8..7). Writes q, returns d (0 for an all-zero group).
float search_scale_symmetric(const float * x, const float * w, int n, int qmin, int qmax, int8_t * q);

// x ~= d * q + m, q integer in [0, qmax]. With min_le_zero the offset m is kept <= 0 (K-quants
// store it as a positive "min" that is subtracted). Writes q, d and m.
void search_scale_offset(const float * x, const float * w, int n, int qmax, bool min_le_zero,
                         uint8_t * q, float * d, float * m);

// A 16-level integer grid (sorted ascending, values in [-128, 127]) with a lookup table for the
// nearest level: midpoints of integer levels are multiples of 0.5, so 512 cells of width 0.5
// over [-128, 128) each lie wholly on one side of every midpoint and the table is exact.
struct GridLut {
    int8_t grid[16];
    uint8_t idx[512];
};
GridLut make_grid_lut(const int8_t * grid16);
const GridLut & iq4_grid();  // kIQ4Values

// Index of the grid value nearest to v (ties go to the lower level).
inline int grid_index(const GridLut & g, float v) {
    float c = (v + 128.0f) * 2.0f;
    c = c < 0.0f ? 0.0f : (c > 511.0f ? 511.0f : c);  // also maps NaN to 0
    return g.idx[int(c)];
}

// x ~= d * grid[q], q in [0, 16) (IQ4_NL's non-uniform levels). Writes q, returns d.
float search_scale_grid(const float * x, const float * w, int n, const GridLut & grid, uint8_t * q);

// Round to nearest, ties to even, branch-free and vectorizable (|v| clamped to 4e6): the
// searches use it; stored bytes that must match ggml use round_away below.
inline int nearest_int(float v) {
    v = v < -4e6f ? -4e6f : (v > 4e6f ? 4e6f : v);
    return int((v + 12582912.0f) - 12582912.0f);
}

// Round half away from zero, exactly as C's roundf and gguf's np_roundf (what ggml's reference
// quantizers use). `a - trunc(a)` is exact, so values just below .5 never round up, unlike
// (int)(a + 0.5f). |v| must be below 2^31.
inline int round_away(float v) {
    const float a = v < 0.0f ? -v : v;
    const int t = int(a);
    const int r = t + ((a - float(t)) >= 0.5f ? 1 : 0);
    return v < 0.0f ? -r : r;
}

// Fills w[0..n) with the element weights described above (importance may be null).
void element_weights(const float * importance, int n, float * w);

}  // namespace quanta::quant
