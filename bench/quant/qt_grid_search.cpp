// bench/quant/qt_grid_search.cpp — how QT3's and QT2's level grids were chosen (bench/RESULTS.md).
//
//   bench_qt_grid WEIGHTS.bin [--stride 4]
//
// Reads real weights (bench/quant/dump_weights.py's file), cuts them into 512-weight blocks
// (every --stride-th block, alternately into a "train" and a "held-out" half), rotates each block
// as QT3/QT2 do and quantizes it with qt_quantize_scales (the formats' own quantizer) under
// candidate grids: Lloyd-Max levels for a unit Gaussian, uniform levels, the grids compiled into
// quant/qt3.h and quant/qt2.h, and grids refined on the train half by alternating quantization
// with a least-squares update of every level (Lloyd iterations under the per-block scales).
// Prints the relative RMSE (||x - x_q|| / ||x||, the same in the rotated and original domain) of
// each grid on both halves; a grid is only worth taking if it wins on the held-out half.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "quant/qt2.h"
#include "quant/qt3.h"
#include "quant/qt4.h"

using namespace quanta::quant;

namespace {

std::vector<float> load_blocks(const std::string & path, int stride) {
    std::vector<float> out;
    std::ifstream in(path, std::ios::binary);
    int64_t seen = 0;
    while (in) {
        uint32_t len = 0, rows = 0, cols = 0;
        if (!in.read(reinterpret_cast<char *>(&len), 4) || len > 4096) break;
        std::string name(len, '\0');
        in.read(name.data(), len);
        in.read(reinterpret_cast<char *>(&rows), 4);
        in.read(reinterpret_cast<char *>(&cols), 4);
        std::vector<float> t(size_t(rows) * cols);
        if (!in.read(reinterpret_cast<char *>(t.data()), std::streamsize(t.size() * 4))) break;
        // Blocks of 512 consecutive weights (a block may span two rows of 640, as bench_quant's).
        for (size_t b = 0; b + kQTBlock <= t.size(); b += kQTBlock, ++seen) {
            if (seen % stride == 0) out.insert(out.end(), t.begin() + int64_t(b), t.begin() + int64_t(b + kQTBlock));
        }
    }
    return out;
}

struct Eval {
    double err = 0.0, energy = 0.0;
    std::vector<double> num, den;  // least-squares level update: sum s*x, sum s^2 per level
};

// Quantizes blocks [b0, b1) (every other block of `parity`) of rotated data under `levels`.
Eval evaluate(const std::vector<float> & rot, int parity, const int8_t * levels, int n_levels, int sub = kQTSub) {
    const QtGrid g = make_qt_grid(levels, n_levels);
    Eval ev;
    ev.num.assign(size_t(n_levels), 0.0);
    ev.den.assign(size_t(n_levels), 0.0);
    std::vector<float> w(kQTBlock, 1.0f);
    const size_t nb = rot.size() / kQTBlock;
    for (size_t b = size_t(parity); b < nb; b += 2) {
        const float * x = rot.data() + b * kQTBlock;
        int ls[kQTBlock / 8];
        uint8_t idx[kQTBlock];
        const double d = fp16_to_fp32(qt_quantize_scales(x, w.data(), g, sub, ls, idx));
        for (int e = 0; e < kQTBlock; ++e) {
            const double s = d * ls[e / sub];
            const double v = s * levels[idx[e]];
            ev.err += (v - x[e]) * (v - x[e]);
            ev.energy += double(x[e]) * x[e];
            ev.num[idx[e]] += s * x[e];
            ev.den[idx[e]] += s * s;
        }
    }
    return ev;
}

void report(const char * name, const std::vector<float> & rot, const int8_t * levels, int n, int sub = kQTSub) {
    const Eval tr = evaluate(rot, 0, levels, n, sub), ho = evaluate(rot, 1, levels, n, sub);
    std::printf("| %s | {", name);
    for (int k = 0; k < n; ++k) std::printf("%s%d", k ? ", " : "", levels[k]);
    std::printf("} | %.4f | %.4f |\n", std::sqrt(tr.err / tr.energy), std::sqrt(ho.err / ho.energy));
    std::fflush(stdout);
}

// Lloyd refinement on the train half: levels <- sum(s x) / sum(s^2) per level, rescaled to
// max |level| = 127 and rounded (the scale search absorbs the common factor).
void refine(const std::vector<float> & rot, int8_t * levels, int n, int iters, int sub = kQTSub) {
    for (int it = 0; it < iters; ++it) {
        const Eval tr = evaluate(rot, 0, levels, n, sub);
        std::vector<double> v(static_cast<size_t>(n));
        double amax = 0.0;
        for (int k = 0; k < n; ++k) {
            v[size_t(k)] = tr.den[size_t(k)] > 0.0 ? tr.num[size_t(k)] / tr.den[size_t(k)] : levels[k];
            amax = std::max(amax, std::fabs(v[size_t(k)]));
        }
        std::sort(v.begin(), v.end());
        for (int k = 0; k < n; ++k) levels[k] = int8_t(std::lround(127.0 * v[size_t(k)] / amax));
        for (int k = 1; k < n; ++k) {
            if (levels[k] <= levels[k - 1]) levels[k] = int8_t(levels[k - 1] + 1);
        }
    }
}

}  // namespace

int main(int argc, char ** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_qt_grid WEIGHTS.bin [--stride 4]\n");
        return 1;
    }
    int stride = 4;
    for (int i = 2; i + 1 < argc; ++i) {
        if (std::string(argv[i]) == "--stride") stride = std::max(1, std::atoi(argv[i + 1]));
    }
    std::vector<float> rot = load_blocks(argv[1], stride);
    if (rot.empty()) {
        std::fprintf(stderr, "bench_qt_grid: no 512-weight blocks read from %s\n", argv[1]);
        return 1;
    }
    for (size_t b = 0; b < rot.size(); b += kRotation) rotate_256(rot.data() + b);
    std::printf("%zu blocks of 512 rotated weights (train: even blocks, held-out: odd)\n\n", rot.size() / kQTBlock);
    std::printf("| grid | levels | rel RMSE train | rel RMSE held-out |\n|---|---|---|---|\n");
    // Lloyd-Max for N(0,1): 8 levels +-0.2451 0.7560 1.3439 2.1520; 4 levels +-0.4528 1.5104.
    const int8_t lm8[8] = {-127, -79, -45, -14, 14, 45, 79, 127};
    const int8_t uni8[8] = {-127, -91, -54, -18, 18, 54, 91, 127};
    const int8_t lm4[4] = {-127, -38, 38, 127};
    const int8_t uni4[4] = {-127, -42, 42, 127};
    const int8_t asym4[4] = {-127, -51, 8, 76};
    report("8: Lloyd-Max N(0,1)", rot, lm8, 8);
    report("8: uniform", rot, uni8, 8);
    report("8: quant/qt3.h", rot, kQT3Levels, 8);
    int8_t r8[8];
    std::copy(lm8, lm8 + 8, r8);
    refine(rot, r8, 8, 6);
    report("8: refined on train", rot, r8, 8);
    report("4: Lloyd-Max N(0,1)", rot, lm4, 4);
    report("4: uniform", rot, uni4, 4);
    report("4: asymmetric", rot, asym4, 4);
    report("4: quant/qt2.h", rot, kQT2Levels, 4);
    int8_t r4[4];
    std::copy(lm4, lm4 + 4, r4);
    refine(rot, r4, 4, 6);
    report("4: refined on train", rot, r4, 4);
    // Finer scales for the 2-bit grid: 32 sub-blocks of 16 (a 32-byte header, 2.5 bpw).
    report("4, per-16 scales: asymmetric", rot, asym4, 4, 16);
    int8_t r4s[4];
    std::copy(asym4, asym4 + 4, r4s);
    refine(rot, r4s, 4, 6, 16);
    report("4, per-16 scales: refined on train", rot, r4s, 4, 16);
    return 0;
}
