// tests/backends/cuda/host/test_cuda_repack.cpp — the index math of the repacked tensor-core mul_mat
// (backends/cuda/ops/mma_layout.h), compiled for the host: it needs neither a GPU nor the CUDA
// toolkit, so it runs in every build (label unit). The device kernels (repack.cu, mma.cuh) call
// these same functions, so a wrong bit offset, fragment position or swizzle is found here.
//   * repack random blocks (quant/random_blocks.h) of QT4, Q4_K, Q4_0, Q8_0, then decode every
//     (tile, k16 step, lane, fragment element) the way the kernel does: each weight of the matrix
//     comes back exactly once, bit for bit the reference's float, and each A register holds the
//     bf16 pair of the elements the PTX m16n8k16 A layout names; padding rows decode to 0;
//   * the A fragment map against the PTX table, the B fragments through a simulated ldmatrix.x4
//     over the swizzled activation tile, and the swizzle's bank-conflict freedom.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backends/cuda/ops/mma_layout.h"
#include "quant/random_blocks.h"
#include "quant/types.h"

using namespace quanta;
using namespace quanta::backends::cuda;

namespace {

// The reference weights [N][K] of a random matrix of R's blocks: quant/'s dequantize_row, except
// QT4, whose rotated-domain values come from decoders.h DecQT4 (itself held to quant/ by
// tests/backends/cuda/host/test_cuda_decoders.cpp).
template <typename R>
std::vector<float> reference(Type type, const std::vector<uint8_t> & q, int64_t K, int64_t N, int64_t row_stride) {
    std::vector<float> ref(size_t(N * K));
    for (int64_t n = 0; n < N; ++n) {
        const char * row = reinterpret_cast<const char *>(q.data()) + n * row_stride;
        if (type == Type::QT4) {
            for (int64_t c = 0; c < K / 32; ++c) {
                DecQT4::chunk(row + (c / (R::kQK / 32)) * R::kBytes, int(c % (R::kQK / 32)), &ref[size_t(n * K + 32 * c)]);
            }
        } else {
            quant::traits(type).dequantize_row(row, &ref[size_t(n * K)], K);
        }
    }
    return ref;
}

// The repacked bytes of a [K, N] matrix, built with the device kernel's per-thread functions.
template <typename R>
std::vector<uint8_t> repack(const std::vector<uint8_t> & q, int64_t N, int64_t row_stride, const RpMatrix & m,
                            uint8_t poison) {
    std::vector<uint8_t> out(size_t(m.bytes), poison);
    const char * rows = reinterpret_cast<const char *>(q.data());
    for (int64_t tile = 0; tile < m.tiles; ++tile) {
        for (int64_t kc = 0; kc < m.units_per_tile; ++kc) {
            for (int lane = 0; lane < 32; ++lane) {
                rp_gather_unit<R>(rows, row_stride, N, tile, kc, lane, &out[size_t(m.unit_offset(tile, kc, lane))]);
            }
        }
        for (int64_t mb = 0; mb < m.blocks_per_row; ++mb) {
            for (int r = 0; r < kRpTileRows; ++r) {
                rp_gather_meta<R>(rows, row_stride, N, tile, mb, r, &out[size_t(m.meta_offset(tile, mb, r))]);
            }
        }
    }
    return out;
}

uint32_t bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

template <typename R>
void check_type(Type type, int64_t K, int64_t N, uint64_t seed) {
    using S = RpShape<R>;
    INFO(quant::traits(type).name << " K " << K << " N " << N << " seed " << seed);
    REQUIRE(quant::traits(type).block_size == R::kQK);
    REQUIRE(int64_t(quant::traits(type).block_bytes) == R::kBytes);
    REQUIRE(rp_k_ok(K));
    const int64_t row_stride = (K / R::kQK) * R::kBytes;
    std::vector<uint8_t> q(size_t(N * row_stride));
    quant::random_blocks(type, q.data(), q.size(), seed, 0.05f);
    const std::vector<float> ref = reference<R>(type, q, K, N, row_stride);

    const RpMatrix m = rp_matrix<R>(K, N);
    const int64_t Np = m.tiles * kRpTileRows;
    CHECK(m.bytes == Np * row_stride);  // the original size when N % 16 == 0
    // Every byte is written: two repacks into differently poisoned buffers agree.
    const std::vector<uint8_t> rp = repack<R>(q, N, row_stride, m, 0xAB);
    CHECK(rp == repack<R>(q, N, row_stride, m, 0xCD));

    std::vector<int> hits(size_t(N * K), 0);
    int64_t mismatches = 0, reg_mismatches = 0, padding_nonzero = 0;
    for (int64_t tile = 0; tile < m.tiles; ++tile) {
        for (int64_t step = 0; step < K / 16; ++step) {
            const int64_t kc = step / S::kUnitSteps;
            const int s = int(step % S::kUnitSteps);
            for (int lane = 0; lane < 32; ++lane) {
                uint32_t unit[4];
                std::memcpy(unit, &rp[size_t(m.unit_offset(tile, kc, lane))], 16);
                // The lane's two rows and their scales for this step's 32-k group, as the kernel reads them.
                const int64_t k0 = 16 * step;
                RpScale sc[2];
                for (int h = 0; h < 2; ++h) {
                    const int r = (lane >> 2) + 8 * h;
                    sc[h] = R::scale(&rp[size_t(m.meta_offset(tile, k0 / R::kQK, r))], rp_sub<R>(k0));
                }
                for (int j = 0; j < 8; ++j) {
                    const int64_t n = tile * kRpTileRows + a_row(lane, j);
                    const int64_t k = k0 + a_col(lane, j);
                    const float w = R::weight(sc[(j >> 1) & 1], rp_code<R>(unit, s, j));
                    if (n >= N) {
                        padding_nonzero += w != 0.0f;
                        continue;
                    }
                    ++hits[size_t(n * K + k)];
                    mismatches += bits(w) != bits(ref[size_t(n * K + k)]);
                }
                for (int r = 0; r < 4; ++r) {
                    const int64_t n = tile * kRpTileRows + a_row(lane, 2 * r);
                    if (n >= N) continue;
                    const int64_t k = k0 + a_col(lane, 2 * r);
                    REQUIRE(a_col(lane, 2 * r + 1) == a_col(lane, 2 * r) + 1);
                    const uint32_t want = uint32_t(quant::fp32_to_bf16(ref[size_t(n * K + k)])) |
                                          (uint32_t(quant::fp32_to_bf16(ref[size_t(n * K + k + 1)])) << 16);
                    reg_mismatches += rp_a_reg<R>(unit, s, r, sc[0], sc[1]) != want;
                }
            }
        }
    }
    CHECK(mismatches == 0);
    CHECK(reg_mismatches == 0);
    CHECK(padding_nonzero == 0);
    CHECK(std::count(hits.begin(), hits.end(), 1) == int64_t(hits.size()));
}

}  // namespace

TEST_CASE("cuda repack: every weight of random QT4 Q4_K Q4_0 Q8_0 matrices comes back bit-exact by fragment position", "[unit]") {
    // N = 37: two full tiles and a padded one; N = 48: no padding (the repacked size is the original's).
    for (int64_t N : {37, 48, 1}) {
        check_type<RpQ4_0>(Type::Q4_0, 192, N, 11 + uint64_t(N));
        check_type<RpQ8_0>(Type::Q8_0, 192, N, 12 + uint64_t(N));
        check_type<RpQ4_K>(Type::Q4_K, 512, N, 13 + uint64_t(N));
        check_type<RpQT4>(Type::QT4, 1024, N, 14 + uint64_t(N));
    }
}

TEST_CASE("cuda repack: stage shapes (one 16-byte unit per lane per tile, whole meta copies)", "[unit]") {
    CHECK(RpShape<RpQ4_0>::kUnitK == 64);
    CHECK(RpShape<RpQ4_K>::kUnitK == 64);
    CHECK(RpShape<RpQT4>::kUnitK == 64);
    CHECK(RpShape<RpQ8_0>::kUnitK == 32);
    CHECK(RpShape<RpQ4_0>::kStageUnits == 1);
    CHECK(RpShape<RpQ8_0>::kStageUnits == 2);
    CHECK(RpShape<RpQ4_0>::kStageMetaBytes == 64);   // 2 blocks x 16 rows x fp16 d
    CHECK(RpShape<RpQ4_K>::kStageMetaBytes == 256);  // 1 block x 16 rows x 16 bytes
    CHECK(RpShape<RpQT4>::kStageMetaBytes == 256);
    CHECK(rp_k_ok(64));
    CHECK(rp_k_ok(640));
    CHECK_FALSE(rp_k_ok(32));
    CHECK_FALSE(rp_k_ok(96));
    // A stage's meta blocks of a tile are contiguous: block mb + 1 follows block mb.
    const RpMatrix m = rp_matrix<RpQ4_0>(192, 37);
    CHECK(m.meta_offset(2, 1, 0) - m.meta_offset(2, 0, 0) == kRpTileRows * RpQ4_0::kMetaBytes);
    CHECK(m.unit_offset(1, 0, 0) - m.unit_offset(0, 0, 0) == m.units_per_tile * 512);
}

TEST_CASE("cuda repack: the A fragment map is the PTX m16n8k16 layout and covers the tile once", "[unit]") {
    int hits[16][16] = {};
    for (int lane = 0; lane < 32; ++lane) {
        const int g = lane >> 2, t = lane & 3;
        // PTX ISA: a0,a1 = (g, 2t..2t+1); a2,a3 = (g+8, 2t..); a4,a5 = (g, 2t+8..); a6,a7 = (g+8, 2t+8..)
        const int want_row[8] = {g, g, g + 8, g + 8, g, g, g + 8, g + 8};
        const int want_col[8] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1, 2 * t + 8, 2 * t + 9, 2 * t + 8, 2 * t + 9};
        for (int j = 0; j < 8; ++j) {
            INFO("lane " << lane << " element " << j);
            CHECK(a_row(lane, j) == want_row[j]);
            CHECK(a_col(lane, j) == want_col[j]);
            ++hits[a_row(lane, j)][a_col(lane, j)];
        }
    }
    for (auto & row : hits) {
        for (int h : row) CHECK(h == 1);
    }
}

TEST_CASE("cuda repack: ldmatrix.x4 over the swizzled activation tile gives the PTX B fragments, conflict-free", "[unit]") {
    constexpr int kRows = 128;  // the widest stage tile (2 warps x 64 columns)
    // Logical tile value at (column m, k): unique per element.
    auto value = [](int m, int k) { return uint16_t(m * kRpStageK + k); };
    std::vector<uint16_t> smem(size_t(kRows * kRpStageK), 0xFFFF);
    std::vector<int> written(smem.size(), 0);
    for (int m = 0; m < kRows; ++m) {
        for (int c = 0; c < kRpXChunks; ++c) {  // one 16-byte cp.async per (row, chunk)
            const int off = x_chunk_offset(m, c);
            REQUIRE(off % 8 == 0);
            for (int e = 0; e < 8; ++e) {
                smem[size_t(off + e)] = value(m, 8 * c + e);
                ++written[size_t(off + e)];
            }
        }
    }
    CHECK(std::count(written.begin(), written.end(), 1) == int64_t(written.size()));  // a bijection

    for (int col0 : {0, 32, 64}) {
        for (int j0 = 0; j0 < 4; j0 += 2) {
            for (int s = 0; s < kRpStageK / 16; ++s) {
                // Each lane's row address; each 8-lane phase (one matrix) must touch 8 different
                // 16-byte bank groups (ldmatrix reads a matrix in one shared-memory wavefront).
                int addr[32];
                for (int lane = 0; lane < 32; ++lane) addr[lane] = ldmatrix_b_offset(lane, col0, j0, s);
                for (int q = 0; q < 4; ++q) {
                    int groups = 0;
                    for (int r = 0; r < 8; ++r) groups |= 1 << ((addr[8 * q + r] * 2 / 16) % 8);
                    CHECK(groups == 0xFF);
                }
                // Simulated ldmatrix (non-transposed, b16): lane i gets, for matrix q, the 32-bit word
                // i % 4 of the 8x8 matrix's row i / 4, whose address lane 8q + i / 4 supplied.
                for (int lane = 0; lane < 32; ++lane) {
                    const int g = lane >> 2, t = lane & 3;
                    for (int q = 0; q < 4; ++q) {
                        const int row_addr = addr[8 * q + g];
                        const uint16_t lo = smem[size_t(row_addr + 2 * t)], hi = smem[size_t(row_addr + 2 * t + 1)];
                        // PTX B layout: register r of n8 tile j holds B[2t + 8r][g], B[2t + 8r + 1][g]
                        // with B[k][c] = x[column col0 + 8 j + c][16 s + k].
                        const int j = j0 + q / 2, r = q % 2;
                        const int m = col0 + 8 * j + g, k = 16 * s + 2 * t + 8 * r;
                        INFO("col0 " << col0 << " j " << j << " s " << s << " lane " << lane << " reg " << r);
                        CHECK(lo == value(m, k));
                        CHECK(hi == value(m, k + 1));
                    }
                }
            }
        }
    }
}

namespace {

// One m16n8k16 mma of a warp, on the host: fragments placed by the PTX layouts (a_row / a_col for
// A; B register r of lane 4g + t = B[2t + 8r .. + 1][g]; C register r = C[g + 8 (r / 2)][2t + r % 2]).
void mma_host(float (*c)[4], const uint32_t (*a)[4], const uint32_t (*b)[2]) {
    float A[16][16], B[16][8];
    for (int lane = 0; lane < 32; ++lane) {
        const int g = lane >> 2, t = lane & 3;
        for (int j = 0; j < 8; ++j) {
            A[a_row(lane, j)][a_col(lane, j)] = quant::bf16_to_fp32(uint16_t(a[lane][j >> 1] >> (16 * (j & 1))));
        }
        for (int r = 0; r < 2; ++r) {
            for (int h = 0; h < 2; ++h) B[2 * t + 8 * r + h][g] = quant::bf16_to_fp32(uint16_t(b[lane][r] >> (16 * h)));
        }
    }
    for (int lane = 0; lane < 32; ++lane) {
        const int g = lane >> 2, t = lane & 3;
        for (int r = 0; r < 4; ++r) {
            const int row = g + 8 * (r >> 1), col = 2 * t + (r & 1);
            for (int k = 0; k < 16; ++k) c[lane][r] += A[row][k] * B[k][col];
        }
    }
}

// Kernel 1 (mma.cuh k_mul_mat_mma_rp) replayed on the host for one weight batch: the same offsets
// (RpStage, rp_x_src, x_chunk_offset, unit_at, meta_at, ldmatrix_b_offset, rp_c_row / rp_c_col),
// the same loop over stages, warps and k16 steps, a simulated ldmatrix.x4 and mma_host. Returns
// the f32 output [M][N] (NaN where nothing was written).
template <typename R>
std::vector<float> replay_kernel(const std::vector<uint8_t> & rp, const RpMatrix & m, const std::vector<uint16_t> & xbf,
                                 int64_t M, int warp_m, int splits) {
    using S = RpShape<R>;
    using ST = RpStage<R>;
    const int64_t K = m.K, N = m.N;
    const int cols = 2 * warp_m, kJ = warp_m / 8;
    const int stage_bytes = ST::kCodeBytes + ST::kMetaBytes + cols * kRpStageK * 2;
    std::vector<float> out(size_t(M * N), std::nanf(""));
    std::vector<uint8_t> st(static_cast<size_t>(stage_bytes));
    for (int64_t n0 = 0; n0 < N; n0 += kRpBlockRows) {
        for (int64_t m0 = 0; m0 < M; m0 += cols) {
          for (int split = 0; split < splits; ++split) {  // k_rp_reduce's order: split 0 first
            const int64_t tile0 = n0 / kRpTileRows;
            const int nk = int(K / kRpStageK);
            const int kb = rp_split_begin(nk, splits, split), ke = rp_split_begin(nk, splits, split + 1);
            // acc[warp][lane][i][j][r]
            std::vector<float> acc(size_t(8 * 32 * 2 * kJ * 4), 0.0f);
            auto A = [&](int w, int lane, int i, int j, int r) -> float & {
                return acc[size_t((((w * 32 + lane) * 2 + i) * kJ + j) * 4 + r)];
            };
            for (int64_t kt = kb; kt < ke; ++kt) {
                std::fill(st.begin(), st.end(), uint8_t(0x5A));  // stale bytes: every read byte must be copied
                for (int i = 0; i < ST::kCodeCopies; ++i) {
                    const int64_t src = ST::code_src(m, tile0, kt, i);
                    for (int b = 0; b < 16; ++b) st[size_t(16 * i + b)] = src < 0 ? 0 : rp[size_t(src + b)];
                }
                for (int i = 0; i < ST::kMetaCopies; ++i) {
                    const int64_t src = ST::meta_src(m, tile0, kt, i);
                    for (int b = 0; b < 16; ++b) st[size_t(ST::kCodeBytes + 16 * i + b)] = src < 0 ? 0 : rp[size_t(src + b)];
                }
                uint16_t * xs = reinterpret_cast<uint16_t *>(&st[size_t(ST::kCodeBytes + ST::kMetaBytes)]);
                for (int i = 0; i < cols * kRpXChunks; ++i) {
                    const int64_t src = rp_x_src(m0, M, K, kt, i);
                    for (int e = 0; e < 8; ++e) xs[x_chunk_offset(i / kRpXChunks, i % kRpXChunks) + e] = src < 0 ? 0 : xbf[size_t(src + e)];
                }
                for (int w = 0; w < 8; ++w) {
                    const int wn = w & 3, wm = w >> 2;
                    uint32_t unit[32][2][2][4];
                    for (int lane = 0; lane < 32; ++lane) {
                        for (int i = 0; i < 2; ++i) {
                            for (int u = 0; u < S::kStageUnits; ++u) std::memcpy(unit[lane][i][u], &st[size_t(ST::unit_at(2 * wn + i, u, lane))], 16);
                        }
                    }
                    RpScale sc[32][2][2];
                    for (int s16 = 0; s16 < kRpStageK / 16; ++s16) {
                        const int64_t k = kt * kRpStageK + 16 * s16;
                        uint32_t af[2][32][4];
                        for (int lane = 0; lane < 32; ++lane) {
                            if ((s16 & 1) == 0) {
                                for (int i = 0; i < 2; ++i) {
                                    for (int h = 0; h < 2; ++h) sc[lane][i][h] = R::scale(&st[size_t(ST::meta_at(2 * wn + i, s16, (lane >> 2) + 8 * h))], rp_sub<R>(k));
                                }
                            }
                            const int u = s16 / S::kUnitSteps, su = s16 % S::kUnitSteps;
                            for (int i = 0; i < 2; ++i) {
                                for (int r = 0; r < 4; ++r) af[i][lane][r] = rp_a_reg<R>(unit[lane][i][u], su, r, sc[lane][i][0], sc[lane][i][1]);
                            }
                        }
                        for (int j = 0; j < kJ; j += 2) {
                            // ldmatrix.x4: lane L receives word L % 4 of row L / 4 of matrix q, whose
                            // row address lane 8 q + L / 4 supplied.
                            uint32_t b[32][4];
                            for (int lane = 0; lane < 32; ++lane) {
                                for (int q = 0; q < 4; ++q) {
                                    const int addr = ldmatrix_b_offset(8 * q + (lane >> 2), wm * warp_m, j, s16) + 2 * (lane & 3);
                                    b[lane][q] = uint32_t(xs[addr]) | (uint32_t(xs[addr + 1]) << 16);
                                }
                            }
                            for (int i = 0; i < 2; ++i) {
                                for (int jj = 0; jj < 2; ++jj) {
                                    float c[32][4];
                                    uint32_t bj[32][2];
                                    for (int lane = 0; lane < 32; ++lane) {
                                        for (int r = 0; r < 4; ++r) c[lane][r] = A(w, lane, i, j + jj, r);
                                        bj[lane][0] = b[lane][2 * jj];
                                        bj[lane][1] = b[lane][2 * jj + 1];
                                    }
                                    mma_host(c, af[i], bj);
                                    for (int lane = 0; lane < 32; ++lane) {
                                        for (int r = 0; r < 4; ++r) A(w, lane, i, j + jj, r) = c[lane][r];
                                    }
                                }
                            }
                        }
                    }
                }
            }
            for (int w = 0; w < 8; ++w) {
                const int wn = w & 3, wm = w >> 2;
                for (int lane = 0; lane < 32; ++lane) {
                    for (int i = 0; i < 2; ++i) {
                        for (int j = 0; j < kJ; ++j) {
                            for (int r = 0; r < 4; ++r) {
                                const int64_t n = n0 + rp_c_row(wn, i, lane, r), mm = m0 + rp_c_col(warp_m, wm, j, lane, r);
                                if (n < N && mm < M) {
                                    float & o = out[size_t(mm * N + n)];
                                    REQUIRE(std::isnan(o) == (split == 0));  // each output written once per split
                                    o = split == 0 ? A(w, lane, i, j, r) : o + A(w, lane, i, j, r);
                                }
                            }
                        }
                    }
                }
            }
          }
        }
    }
    return out;
}

template <typename R>
void check_replay(Type type, int64_t K, int64_t N, int64_t M, int warp_m, uint64_t seed, int splits = 1) {
    INFO(quant::traits(type).name << " K " << K << " N " << N << " M " << M << " warp_m " << warp_m << " splits " << splits);
    const int64_t row_stride = (K / R::kQK) * R::kBytes;
    std::vector<uint8_t> q(size_t(N * row_stride));
    quant::random_blocks(type, q.data(), q.size(), seed, 0.05f);
    const std::vector<float> w = reference<R>(type, q, K, N, row_stride);
    const RpMatrix m = rp_matrix<R>(K, N);
    const std::vector<uint8_t> rp = repack<R>(q, N, row_stride, m, 0xAB);
    std::mt19937 rng(static_cast<uint32_t>(seed));
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<uint16_t> xbf(size_t(M * K));
    for (uint16_t & v : xbf) v = quant::fp32_to_bf16(dist(rng));
    const std::vector<float> got = replay_kernel<R>(rp, m, xbf, M, warp_m, splits);
    // Reference: the same bf16 operands, summed in double.
    double max_ref = 0, max_err = 0;
    for (int64_t mm = 0; mm < M; ++mm) {
        for (int64_t n = 0; n < N; ++n) {
            double s = 0;
            for (int64_t k = 0; k < K; ++k) {
                s += double(quant::bf16_to_fp32(quant::fp32_to_bf16(w[size_t(n * K + k)]))) * double(quant::bf16_to_fp32(xbf[size_t(mm * K + k)]));
            }
            const float g = got[size_t(mm * N + n)];
            REQUIRE(!std::isnan(g));
            max_ref = std::max(max_ref, std::fabs(s));
            max_err = std::max(max_err, std::fabs(double(g) - s));
        }
    }
    CHECK(max_err <= 1e-5 * max_ref);
}

}  // namespace

// The whole kernel's offsets, replayed: two 128-row blocks (the second partial), partial column
// tiles at both column tilings, several stages (several K blocks for Q4_0 / Q8_0, several stages
// per block for Q4_K / QT4), against the f64 product of the same bf16 operands.
TEST_CASE("cuda repack: kernel 1 replayed on the host (stage copies, fragments, ldmatrix, mma, outputs) equals the product", "[unit]") {
    for (int warp_m : {32, 64}) {
        const int64_t M = warp_m == 32 ? 41 : 133;
        check_replay<RpQ4_0>(Type::Q4_0, 192, 150, M, warp_m, 21);
        check_replay<RpQ8_0>(Type::Q8_0, 128, 150, M, warp_m, 22);
        check_replay<RpQ4_K>(Type::Q4_K, 512, 150, M, warp_m, 23);
        check_replay<RpQT4>(Type::QT4, 512, 150, M, warp_m, 24);
    }
    // Split-K: uneven splits of 3 and 8 stages, partial sums added in split order.
    check_replay<RpQ4_0>(Type::Q4_0, 192, 40, 20, 32, 25, 2);
    check_replay<RpQ4_K>(Type::Q4_K, 512, 40, 20, 32, 26, 3);
}

TEST_CASE("cuda repack: kernel 1's launch plan (column tiling, split-K ranges)", "[unit]") {
    CHECK(rp_warp_m(9) == 32);
    CHECK(rp_warp_m(64) == 32);
    CHECK(rp_warp_m(65) == 64);
    // Llama-3-8B shapes on 132 SMs: pp512 is not split (128 and 448 blocks); 16 columns of the
    // 4096-row q/o projection (32 blocks) split 5 ways, on 108 SMs 4 ways.
    CHECK(rp_splits(512, 4096, 4096, 1, 132) == 1);
    CHECK(rp_splits(512, 14336, 4096, 1, 132) == 1);
    CHECK(rp_splits(16, 4096, 4096, 1, 132) == 5);
    CHECK(rp_splits(16, 4096, 4096, 1, 108) == 4);
    CHECK(rp_splits(16, 14336, 4096, 1, 132) == 1);  // 112 blocks
    CHECK(rp_splits(16, 1024, 4096, 1, 132) == 8);   // 8 blocks: at most 8 splits
    CHECK(rp_splits(16, 1024, 128, 1, 132) == 2);    // at most one split per stage
    CHECK(rp_splits(16, 4096, 4096, 1000, 132) == 1);
    for (int nk : {1, 2, 3, 7, 64}) {
        for (int splits = 1; splits <= 8 && splits <= nk; ++splits) {
            INFO("nk " << nk << " splits " << splits);
            CHECK(rp_split_begin(nk, splits, 0) == 0);
            CHECK(rp_split_begin(nk, splits, splits) == nk);
            for (int sp = 0; sp < splits; ++sp) CHECK(rp_split_begin(nk, splits, sp + 1) > rp_split_begin(nk, splits, sp));
        }
    }
}

// Kernel 1's cp.async schedule (rp_slot, rp_prefetch, rp_wait_groups, as mma.cuh calls them),
// simulated for one thread with the copies completing as late as wait_group allows: at every
// iteration the stage about to be read has landed while exactly the later stages' groups may
// still be in flight (the pipeline keeps its depth), and no copy ever targets a slot whose stage
// is unread or being read; every stage of the split is issued and read exactly once, for any
// split length, the empty groups of the prologue and tail included.
TEST_CASE("cuda repack: kernel 1's cp.async pipeline schedule (slots, prefetch, wait_group counts)", "[unit]") {
    for (int stages : {3, 4}) {
        for (int nl = 1; nl <= 13; ++nl) {
            INFO("stages " << stages << " stages of the split " << nl);
            std::vector<int> group_of(size_t(nl), -1), reads(size_t(nl), 0);
            std::vector<int> owner(size_t(stages), -1);  // stage whose copies target / fill each slot
            int committed = 0;
            auto issue = [&](int stage, int it) {  // `it`: stages before it have been read by every warp
                const int slot = rp_slot(stage, stages);
                REQUIRE(slot >= 0);
                REQUIRE(slot < stages);
                CHECK(owner[size_t(slot)] < it);  // -1 (never used) or a stage already read
                REQUIRE(group_of[size_t(stage)] == -1);
                owner[size_t(slot)] = stage;
                group_of[size_t(stage)] = committed;
            };
            for (int s = 0; s < stages - 1; ++s) {
                if (s < nl) issue(s, 0);
                ++committed;
            }
            for (int it = 0; it < nl; ++it) {
                const int complete = committed - rp_wait_groups(stages);  // groups [0, complete) have landed
                REQUIRE(rp_wait_groups(stages) >= 0);
                CHECK(group_of[size_t(it)] >= 0);
                CHECK(group_of[size_t(it)] < complete);        // stage it has landed
                CHECK(group_of[size_t(it)] == complete - 1);   // and no later stage had to
                const int pf = rp_prefetch(it, stages);
                CHECK(pf > it);
                if (pf < nl) issue(pf, it);
                ++committed;
                CHECK(owner[size_t(rp_slot(it, stages))] == it);  // the slot read holds stage it
                ++reads[size_t(it)];
            }
            CHECK(std::count(reads.begin(), reads.end(), 1) == nl);
            CHECK(std::count(group_of.begin(), group_of.end(), -1) == 0);
        }
    }
}
