// tests/backends/cuda/host/test_cuda_flash.cpp — the host+device index math of the tensor-core prefill
// attention (backends/cuda/ops/flash_attention.h), compiled here for the host. Needs no GPU: the
// fragment coordinates the kernel addresses shared memory with (each layout a bijection, P reusing
// S's accumulators as the A operand, ldmatrix.trans delivering V's B fragments), the key-liveness
// relaxation that lets whole key tiles be skipped unread (never hides a visible key), the tile range
// without kpos, the f16 query scaling, the shared-memory budget. Whether these layouts are the
// hardware's is for the GPU op tests (test_cuda_ops.cpp) to show.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "backends/cuda/ops/decoders.h"
#include "backends/cuda/ops/flash_attention.h"

using namespace quanta;
using namespace quanta::backends::cuda;
using namespace quanta::backends::cuda::flash;

TEST_CASE("cuda flash: the m16n8k16 fragment layouts cover each matrix element exactly once", "[cuda]") {
    std::vector<int> a(16 * 16, 0), b(16 * 8, 0), c(16 * 8, 0);
    for (int lane = 0; lane < 32; ++lane) {
        for (int i = 0; i < 8; ++i) ++a[size_t(frag_a_row(lane, i) * 16 + frag_a_col(lane, i))];
        for (int i = 0; i < 4; ++i) ++b[size_t(frag_b_k(lane, i) * 8 + frag_b_n(lane, i))];
        for (int i = 0; i < 4; ++i) ++c[size_t(frag_c_row(lane, i) * 8 + frag_c_col(lane, i))];
        // The kernel loads each register's two halves with one 32-bit read: same row, columns k, k + 1, k even.
        for (int i = 0; i < 8; i += 2) {
            CHECK(frag_a_row(lane, i + 1) == frag_a_row(lane, i));
            CHECK(frag_a_col(lane, i + 1) == frag_a_col(lane, i) + 1);
            CHECK(frag_a_col(lane, i) % 2 == 0);
        }
        for (int i = 0; i < 4; i += 2) {
            CHECK(frag_b_n(lane, i + 1) == frag_b_n(lane, i));
            CHECK(frag_b_k(lane, i + 1) == frag_b_k(lane, i) + 1);
            CHECK(frag_b_k(lane, i) % 2 == 0);
        }
    }
    CHECK(std::all_of(a.begin(), a.end(), [](int n) { return n == 1; }));
    CHECK(std::all_of(b.begin(), b.end(), [](int n) { return n == 1; }));
    CHECK(std::all_of(c.begin(), c.end(), [](int n) { return n == 1; }));
    // Spot values from the PTX ISA figures: lane 5 (g 1, t 1) holds A[1][2], A[9][3], A[1][10]; C[9][3].
    CHECK(frag_a_row(5, 0) == 1);
    CHECK(frag_a_col(5, 0) == 2);
    CHECK(frag_a_row(5, 3) == 9);
    CHECK(frag_a_col(5, 3) == 3);
    CHECK(frag_a_col(5, 4) == 10);
    CHECK(frag_c_row(5, 3) == 9);
    CHECK(frag_c_col(5, 3) == 3);
    CHECK(frag_b_k(5, 2) == 10);
    CHECK(frag_b_n(5, 2) == 1);
}

TEST_CASE("cuda flash: P is S's accumulators repacked, with no data leaving the lane", "[cuda]") {
    // Key step c of P V takes S tiles 2c and 2c + 1 (keys 16c .. 16c + 15). The kernel packs
    // register 2 hf + 0 = tile (2c + hf) elements {0, 1}, register 2 hf + 1 = elements {2, 3}.
    // A's element i is in register i >> 1, half i & 1; it must be the same (row, key) as the C
    // element the kernel put there.
    for (int lane = 0; lane < 32; ++lane) {
        for (int i = 0; i < 8; ++i) {
            const int reg = i >> 1, hf = reg >> 1, elem = 2 * (reg & 1) + (i & 1);
            INFO("lane " << lane << " a" << i);
            CHECK(frag_a_row(lane, i) == frag_c_row(lane, elem));
            CHECK(frag_a_col(lane, i) == 8 * hf + frag_c_col(lane, elem));
        }
    }
}

TEST_CASE("cuda flash: ldmatrix.x4.trans on the V tile gives the B fragments of two 8-dim tiles", "[cuda]") {
    // Addresses: each of the 4 matrices x 8 rows named by exactly one lane, 16-byte aligned columns.
    std::vector<int> rows(4 * 8, 0);
    for (int lane = 0; lane < 32; ++lane) {
        const int m = lane >> 3, key = ldsm_v_key(lane), dim = ldsm_v_dim(lane);
        CHECK(dim % 8 == 0);
        CHECK(key == (lane & 7) + 8 * (m & 1));  // row (lane & 7) of matrix m
        CHECK(dim == 8 * (m >> 1));
        ++rows[size_t(m * 8 + (lane & 7))];
    }
    CHECK(std::all_of(rows.begin(), rows.end(), [](int n) { return n == 1; }));
    // Delivered: registers {2 dt, 2 dt + 1} must be B[k][n] = V[key k][dim 8 dt + n] as mma wants it.
    for (int lane = 0; lane < 32; ++lane) {
        for (int dt = 0; dt < 2; ++dt) {
            for (int i = 0; i < 4; ++i) {
                const int reg = 2 * dt + (i >> 1), h = i & 1;
                CHECK(ldsm_out_key(lane, reg, h) == frag_b_k(lane, i));
                CHECK(ldsm_out_dim(lane, reg) == 8 * dt + frag_b_n(lane, i));
            }
        }
    }
}

TEST_CASE("cuda flash: key_live never hides a key some query of the tile sees", "[cuda]") {
    std::mt19937 rng(17);
    for (int trial = 0; trial < 400; ++trial) {
        const bool causal = trial % 2 == 0;
        const int64_t window = trial % 3 == 0 ? 0 : int64_t(1 + rng() % 60);
        const int nq = 1 + int(rng() % 64);
        std::vector<int64_t> pos(static_cast<size_t>(nq));
        const bool contiguous = trial % 4 < 2;
        const int64_t base = int64_t(rng() % 300);
        for (int i = 0; i < nq; ++i) pos[size_t(i)] = contiguous ? base + i : int64_t(rng() % 400);
        const int64_t pmin = *std::min_element(pos.begin(), pos.end());
        const int64_t pmax = *std::max_element(pos.begin(), pos.end());
        for (int64_t kp = -1; kp < 450; ++kp) {
            const int32_t kp32 = int32_t(kp);
            bool seen = false;
            for (int64_t pq : pos) seen = seen || key_visible(0, pq, &kp32, causal, window);
            INFO("trial " << trial << " kp " << kp << " pmin " << pmin << " pmax " << pmax);
            if (seen) CHECK(key_live(kp, pmin, pmax, causal, window));
            // Over a contiguous run of positions the relaxation is exact.
            if (contiguous) CHECK(key_live(kp, pmin, pmax, causal, window) == seen);
        }
    }
}

TEST_CASE("cuda flash: without kpos, the live slot range and key tiles are exactly the live slots", "[cuda]") {
    std::mt19937 rng(5);
    for (int trial = 0; trial < 300; ++trial) {
        const bool causal = trial % 2 == 0;
        const int64_t window = trial % 3 == 0 ? 0 : int64_t(1 + rng() % 100);
        const int64_t n_kv = 1 + int64_t(rng() % 700);
        const int64_t pmin = int64_t(rng() % 800), pmax = pmin + int64_t(rng() % 90);
        const int64_t bk = trial % 2 ? 64 : 32;
        int64_t jlo, jhi, t0, t1;
        live_slot_range(pmin, pmax, n_kv, causal, window, jlo, jhi);
        live_tiles(pmin, pmax, n_kv, causal, window, bk, t0, t1);
        const int64_t n_tiles = (n_kv + bk - 1) / bk;
        INFO("trial " << trial << " n_kv " << n_kv << " pmin " << pmin << " pmax " << pmax << " window " << window);
        for (int64_t j = 0; j < n_kv; ++j) {
            const bool live = key_live(j, pmin, pmax, causal, window);
            CHECK(live == (j >= jlo && j < jhi));
            if (live) CHECK((j / bk >= t0 && j / bk < t1));  // a live slot's tile is walked
        }
        for (int64_t t = std::max<int64_t>(t0, 0); t < std::min(t1, n_tiles); ++t) {
            bool any = false;  // a walked tile holds a live slot
            for (int64_t j = t * bk; j < std::min(n_kv, t * bk + bk); ++j)
                any = any || key_live(j, pmin, pmax, causal, window);
            CHECK(any);
        }
        CHECK(t1 <= n_tiles);
    }
}

TEST_CASE("cuda flash: query rows are scaled by a power of two only when past 2^14", "[cuda]") {
    CHECK(q_exponent(0.0f) == 0);
    CHECK(q_exponent(1.0f) == 0);
    CHECK(q_exponent(16383.0f) == 0);
    CHECK(q_exponent(INFINITY) == 0);
    CHECK(q_exponent(NAN) == 0);
    for (float a : {16384.0f, 20000.0f, 65504.0f, 1e5f, 3.4e6f, 1e20f, 3e38f}) {
        const int e = q_exponent(a);
        INFO("amax " << a << " e " << e);
        CHECK(e > 0);
        CHECK(std::ldexp(a, -e) < 16384.0f);         // in f16 range with margin
        CHECK(std::ldexp(a, -(e - 1)) >= 16384.0f);  // the smallest such e
    }
}

TEST_CASE("cuda flash: shapes that take the prefill kernel, and its shared memory per block", "[cuda]") {
    CHECK(prefill_shape_fits(128, 128, 16, Type::F16));
    CHECK(prefill_shape_fits(64, 64, 512, Type::Q8_0));
    CHECK(prefill_shape_fits(256, 256, 130, Type::F16));
    CHECK_FALSE(prefill_shape_fits(128, 128, 15, Type::F16));  // decode-sized: split-KV kernel
    CHECK_FALSE(prefill_shape_fits(80, 80, 64, Type::F16));    // other head dims
    CHECK_FALSE(prefill_shape_fits(128, 64, 64, Type::F16));   // hd != hd_v
    CHECK_FALSE(prefill_shape_fits(128, 128, 64, Type::F32));  // an f32 cache stays exact
    for (int hd : {64, 128, 256}) {
        INFO("hd " << hd);
        CHECK(smem_bytes(hd) <= size_t(99) * 1024);  // sm_86 / sm_89 per-block limit
        CHECK(smem_stride(hd) * 2 % 16 == 0);        // rows 16-byte aligned (cp.async, ldmatrix)
        CHECK(key_tile(hd) % 16 == 0);               // whole P V k-steps
        CHECK(key_tile(hd) <= kWarps * 32);          // one thread per key reads the tile's kpos
    }
}

TEST_CASE("cuda flash: the KV split covers every key tile once, in whole splits of >= 256 keys", "[cuda]") {
    for (int64_t hd : {64, 128, 256}) {
        for (int64_t n_q : {16, 64, 65, 512}) {
            for (int64_t n_head : {1, 4, 32}) {
                for (int64_t group : {1, 2, 4}) {
                    if (n_head % group != 0) continue;
                    const int64_t n_head_kv = n_head / group;
                    for (int64_t n_kv : {1, 16, 255, 256, 600, 2100, 8192, 131072}) {
                        for (int sm : {1, 108, 132}) {
                            const PrefillSplit sp = prefill_split(hd, n_q, n_head, n_head_kv, n_kv, sm);
                            const int64_t bk = key_tile(int(hd)), n_tiles = (n_kv + bk - 1) / bk;
                            const int64_t blocks = (n_q * group + kQueryTile - 1) / kQueryTile * n_head_kv;
                            INFO("hd " << hd << " n_q " << n_q << " n_head " << n_head << " group " << group << " n_kv "
                                       << n_kv << " sm " << sm << " split " << sp.n_split << " x "
                                       << sp.tiles_per_split);
                            REQUIRE(sp.n_split >= 1);
                            CHECK(sp.n_split <= kMaxSplits);
                            CHECK(sp.n_split * sp.tiles_per_split >= n_tiles);       // every tile in a split
                            CHECK((sp.n_split - 1) * sp.tiles_per_split < n_tiles);  // no empty split
                            if (sp.n_split > 1) {
                                CHECK(sp.tiles_per_split * bk >= kMinSplitKeys);
                                CHECK(blocks < 2 * sm);  // split only when the blocks alone leave SMs idle
                            }
                            if (blocks >= 2 * sm) CHECK(sp.n_split == 1);
                        }
                    }
                }
            }
        }
    }
    // A 16-query prompt over an 8K cache on 132 SMs with 8 heads (no GQA): 8 blocks would idle most SMs.
    CHECK(prefill_split(128, 16, 8, 8, 8192, 132).n_split == 32);
}

TEST_CASE("cuda flash: GQA rows name every (query, head) pair of a kv head exactly once", "[cuda]") {
    for (int64_t group : {1, 2, 3, 4, 8}) {
        for (int64_t n_q : {16, 17, 100}) {
            for (int64_t hk : {0, 3}) {
                std::vector<int> seen(size_t(n_q * group), 0);
                for (int64_t R = 0; R < n_q * group; ++R) {
                    const int64_t i = row_query(R, group), h = row_head(R, group, hk);
                    REQUIRE(i >= 0);
                    REQUIRE(i < n_q);
                    REQUIRE(h / group == hk);  // a head of this kv head (h / group is the CPU's GQA rule)
                    ++seen[size_t(i * group + h % group)];
                }
                CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
            }
        }
    }
}
