// tests/backends/cuda/host/test_cuda_flash.cpp — the host+device index math of the tensor-core prefill
// attention (backends/cuda/ops/flash_attention.h), compiled here for the host. Needs no GPU: the
// fragment coordinates the kernel addresses shared memory with (each layout a bijection, P reusing
// S's accumulators as the A operand, ldmatrix.trans delivering V's B fragments), the key-liveness
// relaxation that lets whole key tiles be skipped unread (never hides a visible key), the tile range
// without kpos, the f16 query scaling, the shared-memory budget; and a host replay of whole launches
// (below) against f64 attention. Whether these layouts are the hardware's is for the GPU op tests
// (test_cuda_ops.cpp) to show.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "backends/cuda/ops/decoders.h"
#include "backends/cuda/ops/flash_attention.h"
#include "quant/legacy.h"

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

// ---- a host replay of whole k_flash_prefill launches -------------------------------------------
// The kernel's control flow, shared-memory addressing and per-lane arithmetic transcribed line by
// line (ops/flash_prefill.cu), with the hardware emulated from the PTX ISA rather than from the
// kernel's own comments: mma.sync m16n8k16 assembles A, B from all 32 lanes' fragment registers by
// the PTX fragment maps (frag_*, checked above against the ISA figures) and hands C back the same
// way; ldmatrix.x4.trans delivers to lane 4 g + t, register m, the halves [2 t][g] and
// [2 t + 1][g] of the 8 x 8 matrix whose row r lane 8 m + r addressed; shuffles read the partner
// lane; every f16 value is rounded as the device rounds it. Shared memory starts as NaN, so a read
// of anything a stage did not write poisons the result. The split records go through a transcript
// of attention.cu's combine kernel. Compared with f64 attention by the op's definition
// (core/ops.h: scale, soft-cap, then the kpos / causal / window mask; zeros for a query that sees
// no key). A transcript cannot prove the .cu says the same; it shows that the algorithm as written
// (tile walk, liveness zero fill, online softmax over 4 lanes, P reuse, splits and merge) computes
// attention for these shapes, masks and splits, F16 and Q8_0 caches (errors 2.6e-4 to 7.3e-4 of the largest
// output; 4e-3 allowed).
namespace {

float h16(float x) {
    return quant::fp16_to_fp32(quant::fp32_to_fp16(x));
}

struct Reg {  // one 32-bit fragment register: two f16 values (held as floats), lo = lower address
    float lo = NAN, hi = NAN;
    float half(int h) const { return h ? hi : lo; }
};
// flash_mma.cuh half_pair: the halves at k and k + 1 of a shared-memory row.
Reg pair_at(const float * row, int k) {
    return {row[k], row[k + 1]};
}

// mma.sync.m16n8k16.row.col.f32.f16.f16.f32: c[lane] += (A B) at lane's C elements.
void emu_mma(float (*c)[4], const Reg (*a)[4], const Reg (*b)[2]) {
    double A[16][16], B[16][8];
    for (int lane = 0; lane < 32; ++lane) {
        for (int i = 0; i < 8; ++i) A[frag_a_row(lane, i)][frag_a_col(lane, i)] = a[lane][i >> 1].half(i & 1);
        for (int i = 0; i < 4; ++i) B[frag_b_k(lane, i)][frag_b_n(lane, i)] = b[lane][i >> 1].half(i & 1);
    }
    for (int lane = 0; lane < 32; ++lane) {
        for (int i = 0; i < 4; ++i) {
            double s = 0;
            for (int k = 0; k < 16; ++k) s += A[frag_c_row(lane, i)][k] * B[k][frag_c_col(lane, i)];
            c[lane][i] = float(double(c[lane][i]) + s);
        }
    }
}

// ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16; addr[l] = the row lane l addresses.
void emu_ldsm_x4_trans(Reg (*r)[4], const float * const * addr) {
    for (int lane = 0; lane < 32; ++lane) {
        const int g = lane >> 2, t = lane & 3;
        for (int m = 0; m < 4; ++m) r[lane][m] = {addr[8 * m + 2 * t][g], addr[8 * m + 2 * t + 1][g]};
    }
}

// __shfl_xor_sync(v, 1) then (v, 2), each combining with the partner's current value.
template <class F>
void emu_quad_reduce(float * v, F op) {
    for (int x : {1, 2}) {
        float n[32];
        for (int lane = 0; lane < 32; ++lane) n[lane] = op(v[lane], v[lane ^ x]);
        std::copy(n, n + 32, v);
    }
}

struct FlashCase {
    int hd;
    int64_t n_q, n_head, n_head_kv, n_kv;
    bool causal;
    int64_t window;
    float softcap;
    bool ring;  // kpos: a ring buffer with empty slots, shuffled query positions, some blind queries
    int sm;
    bool q8 = false;  // a Q8_0 cache (else F16)
};

struct FlashData {
    std::vector<float> q;                  // [n_q][n_head][hd]
    std::vector<float> k, v;               // [n_kv][n_head_kv][hd]: F16 cache values, or Q8_0's d * q
    std::vector<quant::BlockQ8_0> k8, v8;  // Q8_0 cache: the rows of k, v as blocks
    std::vector<int32_t> pos, kpos;        // kpos empty: slot j holds position j
    float scale = 0;
};

constexpr int kMaxTilesS = 8, kMaxTilesO = 32, kMaxChunksP = 4;

// One block (blockIdx.x = bx, .y = hk, .z = z) of k_flash_prefill<hd, F16>.
void replay_block(const FlashCase & fc, const FlashData & d, PrefillSplit sp, int64_t bx, int64_t hk, int64_t z,
                  std::vector<float> & out, std::vector<float> & part) {
    const int HD = fc.hd, BK = key_tile(HD), ST = smem_stride(HD);
    const int kTilesS = BK / 8, kTilesO = HD / 8, kChunksP = BK / 16;
    const int64_t group = fc.n_head / fc.n_head_kv, n_kv = fc.n_kv;
    const bool has_kpos = !d.kpos.empty();
    std::vector<float> qs(size_t(kQueryTile * ST), NAN), ks(size_t(BK * ST), NAN), vs(size_t(BK * ST), NAN);
    std::vector<int32_t> pos_sh(kQueryTile), kp_sh(size_t(BK), -7);
    std::vector<float> qmul_sh(kQueryTile);
    const int64_t R0 = bx * kQueryTile, n_pairs = fc.n_q * group;
    const int n_rows = n_pairs - R0 < kQueryTile ? int(n_pairs - R0) : kQueryTile;

    for (int tid = 0; tid < kQueryTile; ++tid)
        pos_sh[size_t(tid)] = tid < n_rows ? d.pos[size_t(row_query(R0 + tid, group))] : 0;
    for (int row = 0; row < kQueryTile; ++row) {
        float * dst = &qs[size_t(row * ST)];
        if (row < n_rows) {
            const int64_t R = R0 + row;
            const float * src = &d.q[size_t((row_query(R, group) * fc.n_head + row_head(R, group, hk)) * HD)];
            float amax = 0.0f;
            for (int c = 0; c < HD; ++c) amax = std::fmax(amax, std::fabs(src[c]));
            const int e = q_exponent(amax * d.scale);
            const float f = std::ldexp(d.scale, -e);
            for (int c = 0; c < HD; ++c) dst[c] = h16(src[c] * f);
            qmul_sh[size_t(row)] = std::ldexp(1.0f, e);
        } else {
            for (int c = 0; c < HD; ++c) dst[c] = 0.0f;
            qmul_sh[size_t(row)] = 1.0f;
        }
    }
    int64_t pmin = pos_sh[0], pmax = pos_sh[0];
    for (int r = 1; r < n_rows; ++r) {
        pmin = std::min<int64_t>(pmin, pos_sh[size_t(r)]);
        pmax = std::max<int64_t>(pmax, pos_sh[size_t(r)]);
    }

    const int64_t n_tiles = (n_kv + BK - 1) / BK;
    const int64_t s0 = z * sp.tiles_per_split;
    const int64_t s1 = s0 + sp.tiles_per_split < n_tiles ? s0 + sp.tiles_per_split : n_tiles;
    int64_t tile = 0, tile_end = n_tiles;
    if (!has_kpos) live_tiles(pmin, pmax, n_kv, fc.causal, fc.window, BK, tile, tile_end);
    tile = tile > s0 ? tile : s0;
    tile_end = tile_end < s1 ? tile_end : s1;
    if (tile > tile_end) tile = tile_end;
    auto next_live = [&](int64_t from) -> int64_t {
        if (!has_kpos) return from < tile_end ? from : tile_end;
        for (int64_t tl = from; tl < tile_end; ++tl) {
            bool any = false;
            for (int tid = 0; tid < BK; ++tid) {
                const int64_t j = tl * BK + tid;
                const int32_t kp = j < n_kv ? d.kpos[size_t(j)] : -1;
                kp_sh[size_t(tid)] = kp;
                any = any || key_live(kp, pmin, pmax, fc.causal, fc.window);
            }
            if (any) return tl;
        }
        return tile_end;
    };
    auto stage = [&](const std::vector<float> & src, const std::vector<quant::BlockQ8_0> & src8, int64_t tl,
                     std::vector<float> & dst) {
        if (fc.q8) {  // the kernel's Q8_0 branch: one 32-key block per item, d * q rounded to f16 in pairs
            const int kBlocks = HD / 32;
            for (int idx = 0; idx < BK * kBlocks; ++idx) {
                const int r = idx / kBlocks, b = idx % kBlocks;
                const int64_t j = tl * BK + r;
                const int64_t kp = has_kpos ? int64_t(kp_sh[size_t(r)]) : j;
                const bool live = j < n_kv && key_live(kp, pmin, pmax, fc.causal, fc.window);
                float * o32 = &dst[size_t(r * ST + b * 32)];
                if (live) {
                    const quant::BlockQ8_0 & blk = src8[size_t((j * fc.n_head_kv + hk) * kBlocks + b)];
                    const float dd = quant::fp16_to_fp32(blk.d);
                    for (int e = 0; e < 32; e += 2) {
                        o32[e] = h16(dd * float(blk.qs[e]));
                        o32[e + 1] = h16(dd * float(blk.qs[e + 1]));
                    }
                } else {
                    for (int e = 0; e < 32; ++e) o32[e] = 0.0f;
                }
            }
            return;
        }
        for (int r = 0; r < BK; ++r) {
            const int64_t j = tl * BK + r;
            const int64_t kp = has_kpos ? int64_t(kp_sh[size_t(r)]) : j;
            const bool live = j < n_kv && key_live(kp, pmin, pmax, fc.causal, fc.window);
            for (int c = 0; c < HD; ++c)
                dst[size_t(r * ST + c)] = live ? src[size_t((j * fc.n_head_kv + hk) * HD + c)] : 0.0f;
        }
    };

    static float o[kWarps][kMaxTilesO][32][4];
    static float m0[kWarps][32], m1[kWarps][32], l0[kWarps][32], l1[kWarps][32];
    static Reg pa[kWarps][kMaxChunksP][32][4];
    for (int w = 0; w < kWarps; ++w) {
        for (int lane = 0; lane < 32; ++lane) {
            for (int n = 0; n < kTilesO; ++n)
                for (int r = 0; r < 4; ++r) o[w][n][lane][r] = 0.0f;
            m0[w][lane] = m1[w][lane] = -INFINITY;
            l0[w][lane] = l1[w][lane] = 0.0f;
        }
    }

    tile = next_live(tile);
    if (tile < tile_end) stage(d.k, d.k8, tile, ks);
    while (tile < tile_end) {
        stage(d.v, d.v8, tile, vs);
        for (int w = 0; w < kWarps; ++w) {
            static float s[kMaxTilesS][32][4];
            for (int n = 0; n < kTilesS; ++n)
                for (int lane = 0; lane < 32; ++lane)
                    for (int r = 0; r < 4; ++r) s[n][lane][r] = 0.0f;
            for (int kc = 0; kc < HD; kc += 16) {
                Reg af[32][4];
                for (int lane = 0; lane < 32; ++lane) {
                    const float * qa = &qs[size_t((w * kRowsPerWarp + frag_a_row(lane, 0)) * ST + kc)];
                    af[lane][0] = pair_at(qa, frag_a_col(lane, 0));
                    af[lane][1] = pair_at(qa + 8 * ST, frag_a_col(lane, 2));
                    af[lane][2] = pair_at(qa, frag_a_col(lane, 4));
                    af[lane][3] = pair_at(qa + 8 * ST, frag_a_col(lane, 6));
                }
                for (int n = 0; n < kTilesS; ++n) {
                    Reg bf[32][2];
                    for (int lane = 0; lane < 32; ++lane) {
                        const float * kb = &ks[size_t((8 * n + frag_b_n(lane, 0)) * ST + kc)];
                        bf[lane][0] = pair_at(kb, frag_b_k(lane, 0));
                        bf[lane][1] = pair_at(kb, frag_b_k(lane, 2));
                    }
                    emu_mma(s[n], af, bf);
                }
            }
            const int64_t j0 = tile * BK;
            float mt0[32], mt1[32];
            for (int lane = 0; lane < 32; ++lane) {
                const int g = lane >> 2, row0 = w * kRowsPerWarp + g, row1 = row0 + 8;
                const int64_t pq0 = pos_sh[size_t(row0)], pq1 = pos_sh[size_t(row1)];
                const float qm0 = qmul_sh[size_t(row0)], qm1 = qmul_sh[size_t(row1)];
                mt0[lane] = mt1[lane] = -INFINITY;
                for (int n = 0; n < kTilesS; ++n) {
                    for (int r = 0; r < 4; ++r) {
                        const int col = 8 * n + frag_c_col(lane, r);
                        const bool lo = r < 2;
                        float x = s[n][lane][r] * (lo ? qm0 : qm1);
                        if (fc.softcap > 0.0f) x = fc.softcap * std::tanh(x / fc.softcap);
                        const int64_t j = j0 + col;
                        const int64_t kp = has_kpos ? int64_t(kp_sh[size_t(col)]) : j;
                        const int64_t pq = lo ? pq0 : pq1;
                        const bool vis =
                            j < n_kv && kp >= 0 && (!fc.causal || kp <= pq) && (fc.window <= 0 || pq - kp < fc.window);
                        x = vis ? x : -INFINITY;
                        s[n][lane][r] = x;
                        if (lo)
                            mt0[lane] = std::fmax(mt0[lane], x);
                        else
                            mt1[lane] = std::fmax(mt1[lane], x);
                    }
                }
            }
            auto fmax2 = [](float a, float b) { return std::fmax(a, b); };
            emu_quad_reduce(mt0, fmax2);
            emu_quad_reduce(mt1, fmax2);
            for (int lane = 0; lane < 32; ++lane) {
                const float mn0 = std::fmax(m0[w][lane], mt0[lane]), mn1 = std::fmax(m1[w][lane], mt1[lane]);
                const float c0 = mn0 == -INFINITY ? 1.0f : std::exp(m0[w][lane] - mn0);
                const float c1 = mn1 == -INFINITY ? 1.0f : std::exp(m1[w][lane] - mn1);
                m0[w][lane] = mn0;
                m1[w][lane] = mn1;
                l0[w][lane] *= c0;
                l1[w][lane] *= c1;
                for (int n = 0; n < kTilesO; ++n) {
                    o[w][n][lane][0] *= c0;
                    o[w][n][lane][1] *= c0;
                    o[w][n][lane][2] *= c1;
                    o[w][n][lane][3] *= c1;
                }
                for (int c = 0; c < kChunksP; ++c) {
                    for (int hf = 0; hf < 2; ++hf) {
                        const float * sn = s[2 * c + hf][lane];
                        const float p0 = sn[0] == -INFINITY ? 0.0f : std::exp(sn[0] - mn0);
                        const float p1 = sn[1] == -INFINITY ? 0.0f : std::exp(sn[1] - mn0);
                        const float p2 = sn[2] == -INFINITY ? 0.0f : std::exp(sn[2] - mn1);
                        const float p3 = sn[3] == -INFINITY ? 0.0f : std::exp(sn[3] - mn1);
                        const Reg lo{h16(p0), h16(p1)}, hi{h16(p2), h16(p3)};
                        l0[w][lane] += lo.lo + lo.hi;
                        l1[w][lane] += hi.lo + hi.hi;
                        pa[w][c][lane][2 * hf] = lo;
                        pa[w][c][lane][2 * hf + 1] = hi;
                    }
                }
            }
        }
        const int64_t next = next_live(tile + 1);
        if (next < tile_end) stage(d.k, d.k8, next, ks);
        for (int w = 0; w < kWarps; ++w) {
            for (int c = 0; c < kChunksP; ++c) {
                for (int dp = 0; dp < HD; dp += 16) {
                    const float * addr[32];
                    for (int lane = 0; lane < 32; ++lane)
                        addr[lane] = &vs[size_t((16 * c + ldsm_v_key(lane)) * ST + dp + ldsm_v_dim(lane))];
                    Reg b[32][4], b01[32][2], b23[32][2];
                    emu_ldsm_x4_trans(b, addr);
                    for (int lane = 0; lane < 32; ++lane) {
                        b01[lane][0] = b[lane][0];
                        b01[lane][1] = b[lane][1];
                        b23[lane][0] = b[lane][2];
                        b23[lane][1] = b[lane][3];
                    }
                    emu_mma(o[w][dp / 8], pa[w][c], b01);
                    emu_mma(o[w][dp / 8 + 1], pa[w][c], b23);
                }
            }
        }
        tile = next;
    }

    for (int w = 0; w < kWarps; ++w) {
        auto add = [](float a, float b) { return a + b; };
        emu_quad_reduce(l0[w], add);
        emu_quad_reduce(l1[w], add);
        for (int lane = 0; lane < 32; ++lane) {
            const int g = lane >> 2, row0 = w * kRowsPerWarp + g, row1 = row0 + 8;
            float inv0 = l0[w][lane] > 0.0f ? 1.0f / l0[w][lane] : 0.0f,
                  inv1 = l1[w][lane] > 0.0f ? 1.0f / l1[w][lane] : 0.0f;
            float *out0 = nullptr, *out1 = nullptr;
            auto at = [&](std::vector<float> & buf, int64_t R, int64_t zz, int64_t rec) {
                return &buf[size_t(((zz * fc.n_q + row_query(R, group)) * fc.n_head + row_head(R, group, hk)) * rec)];
            };
            if (sp.n_split > 1) {
                if (row0 < n_rows) out0 = at(part, R0 + row0, z, HD + 2);
                if (row1 < n_rows) out1 = at(part, R0 + row1, z, HD + 2);
                if ((lane & 3) == 0) {
                    if (out0) {
                        out0[HD] = m0[w][lane];
                        out0[HD + 1] = l0[w][lane];
                    }
                    if (out1) {
                        out1[HD] = m1[w][lane];
                        out1[HD + 1] = l1[w][lane];
                    }
                }
                inv0 = inv1 = 1.0f;
            } else {
                if (row0 < n_rows) out0 = at(out, R0 + row0, 0, HD);
                if (row1 < n_rows) out1 = at(out, R0 + row1, 0, HD);
            }
            for (int n = 0; n < kTilesO; ++n) {
                const int col = 8 * n + frag_c_col(lane, 0);
                if (out0) {
                    out0[col] = o[w][n][lane][0] * inv0;
                    out0[col + 1] = o[w][n][lane][1] * inv0;
                }
                if (out1) {
                    out1[col] = o[w][n][lane][2] * inv1;
                    out1[col + 1] = o[w][n][lane][3] * inv1;
                }
            }
        }
    }
}

// The launch (grid as flash_prefill.cu launch) and, with splits, attention.cu's k_attn_combine.
std::vector<float> replay_launch(const FlashCase & fc, const FlashData & d, PrefillSplit & sp_out) {
    const PrefillSplit sp = prefill_split(fc.hd, fc.n_q, fc.n_head, fc.n_head_kv, fc.n_kv, fc.sm);
    sp_out = sp;
    const int64_t group = fc.n_head / fc.n_head_kv, rec = fc.hd + 2;
    std::vector<float> out(size_t(fc.n_q * fc.n_head * fc.hd), NAN);  // poisoned like the GPU tests' outputs
    std::vector<float> part(sp.n_split > 1 ? size_t(sp.n_split * fc.n_q * fc.n_head * rec) : 0, NAN);
    const int64_t gx = (fc.n_q * group + kQueryTile - 1) / kQueryTile;
    for (int64_t z = 0; z < sp.n_split; ++z)
        for (int64_t hk = 0; hk < fc.n_head_kv; ++hk)
            for (int64_t bx = 0; bx < gx; ++bx) replay_block(fc, d, sp, bx, hk, z, out, part);
    if (sp.n_split > 1) {
        const int64_t stride = fc.n_q * fc.n_head * rec;
        for (int64_t i = 0; i < fc.n_q; ++i) {
            for (int64_t h = 0; h < fc.n_head; ++h) {
                const float * rec0 = &part[size_t((i * fc.n_head + h) * rec)];
                float M = -INFINITY;
                for (int64_t s = 0; s < sp.n_split; ++s) M = std::fmax(M, rec0[s * stride + fc.hd]);
                float L = 0.0f;
                for (int64_t s = 0; s < sp.n_split; ++s) {
                    const float ms = rec0[s * stride + fc.hd];
                    if (ms != -INFINITY) L += std::exp(ms - M) * rec0[s * stride + fc.hd + 1];
                }
                const float inv = L > 0.0f ? 1.0f / L : 0.0f;
                for (int64_t c = 0; c < fc.hd; ++c) {
                    float sum = 0.0f;
                    for (int64_t s = 0; s < sp.n_split; ++s) {
                        const float ms = rec0[s * stride + fc.hd];
                        if (ms != -INFINITY) sum += std::exp(ms - M) * rec0[s * stride + c];
                    }
                    out[size_t((i * fc.n_head + h) * fc.hd + c)] = sum * inv;
                }
            }
        }
    }
    return out;
}

FlashData make_flash_data(const FlashCase & fc, uint32_t seed, std::vector<bool> & blind) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    FlashData d;
    d.scale = 1.0f / std::sqrt(float(fc.hd));
    d.q.resize(size_t(fc.n_q * fc.n_head * fc.hd));
    for (float & x : d.q) x = 2.0f * nd(rng);
    d.k.resize(size_t(fc.n_kv * fc.n_head_kv * fc.hd));
    d.v.resize(d.k.size());
    for (float & x : d.k) x = h16(nd(rng));
    for (float & x : d.v) x = h16(nd(rng));
    d.pos.resize(size_t(fc.n_q));
    blind.assign(size_t(fc.n_q), false);
    if (!fc.ring) {
        // Causal: the last n_kv / 8 slots are past every query (a cache longer than what was written).
        const int64_t tail = fc.causal && fc.n_kv - fc.n_q - fc.n_kv / 8 >= 0 ? fc.n_kv / 8 : 0;
        for (int64_t i = 0; i < fc.n_q; ++i) d.pos[size_t(i)] = int32_t(fc.n_kv - fc.n_q - tail + i);
    } else {
        d.kpos.resize(size_t(fc.n_kv));
        for (int64_t j = 0; j < fc.n_kv; ++j) d.kpos[size_t(j)] = j % 7 == 3 ? -1 : int32_t(1000 + (j + 37) % fc.n_kv);
        for (int64_t i = 0; i < fc.n_q; ++i) d.pos[size_t(i)] = int32_t(1000 + fc.n_kv - fc.n_q + i);
        std::shuffle(d.pos.begin(), d.pos.end(), rng);
        for (int64_t i = 0; i < fc.n_q; i += 9) {
            d.pos[size_t(i)] = 5;  // before every key: blind under the causal mask
            blind[size_t(i)] = fc.causal;
        }
    }
    // Unwritten slots hold NaN: empty ring slots, and without kpos under the causal mask the slots
    // past the last query. Such a slot must never meet a probability, not even a zero one.
    const int32_t last = *std::max_element(d.pos.begin(), d.pos.end());
    if (fc.q8) {  // quantize each row; the reference gets the exact d * q
        const int64_t rows = fc.n_kv * fc.n_head_kv, nb = fc.hd / 32;
        for (auto * pr : {&d.k, &d.v}) {
            std::vector<quant::BlockQ8_0> & blocks = pr == &d.k ? d.k8 : d.v8;
            blocks.resize(size_t(rows * nb));
            quant::traits(Type::Q8_0).quantize_row(pr->data(), blocks.data(), rows * fc.hd, nullptr);
            for (int64_t i = 0; i < rows * fc.hd; ++i) {
                const quant::BlockQ8_0 & b = blocks[size_t(i / 32)];
                (*pr)[size_t(i)] = quant::fp16_to_fp32(b.d) * float(b.qs[i % 32]);
            }
        }
    }
    for (int64_t j = 0; j < fc.n_kv; ++j) {
        const bool unwritten = fc.ring ? d.kpos[size_t(j)] < 0 : fc.causal && j > last;
        if (!unwritten) continue;
        for (int64_t e = 0; e < fc.n_head_kv * fc.hd; ++e) {
            d.k[size_t(j * fc.n_head_kv * fc.hd + e)] = NAN;
            d.v[size_t(j * fc.n_head_kv * fc.hd + e)] = NAN;
        }
        for (int64_t b = 0; fc.q8 && b < fc.n_head_kv * fc.hd / 32; ++b) {
            d.k8[size_t(j * fc.n_head_kv * fc.hd / 32 + b)].d = 0x7E00;  // f16 NaN scale
            d.v8[size_t(j * fc.n_head_kv * fc.hd / 32 + b)].d = 0x7E00;
        }
    }
    return d;
}

// f64 attention by core/ops.h's definition.
std::vector<double> flash_reference(const FlashCase & fc, const FlashData & d) {
    const int64_t group = fc.n_head / fc.n_head_kv;
    std::vector<double> out(size_t(fc.n_q * fc.n_head * fc.hd), 0.0);
    std::vector<double> sc(size_t(fc.n_kv));
    for (int64_t i = 0; i < fc.n_q; ++i) {
        for (int64_t h = 0; h < fc.n_head; ++h) {
            const int64_t hk = h / group, pq = d.pos[size_t(i)];
            double m = -INFINITY;
            for (int64_t j = 0; j < fc.n_kv; ++j) {
                sc[size_t(j)] = -INFINITY;
                if (!key_visible(j, pq, d.kpos.empty() ? nullptr : d.kpos.data(), fc.causal, fc.window)) continue;
                double s = 0;
                for (int c = 0; c < fc.hd; ++c)
                    s += double(d.q[size_t((i * fc.n_head + h) * fc.hd + c)]) *
                         d.k[size_t((j * fc.n_head_kv + hk) * fc.hd + c)];
                s *= d.scale;
                if (fc.softcap > 0.0f) s = fc.softcap * std::tanh(s / fc.softcap);
                sc[size_t(j)] = s;
                m = std::max(m, s);
            }
            if (m == -INFINITY) continue;  // sees no key: zeros
            double l = 0;
            double * o = &out[size_t((i * fc.n_head + h) * fc.hd)];
            for (int64_t j = 0; j < fc.n_kv; ++j) {
                if (sc[size_t(j)] == -INFINITY) continue;
                const double p = std::exp(sc[size_t(j)] - m);
                l += p;
                for (int c = 0; c < fc.hd; ++c) o[c] += p * d.v[size_t((j * fc.n_head_kv + hk) * fc.hd + c)];
            }
            for (int c = 0; c < fc.hd; ++c) o[c] /= l;
        }
    }
    return out;
}

}  // namespace

TEST_CASE("cuda flash: a host replay of whole prefill launches (F16 and Q8_0 caches) computes attention", "[cuda]") {
    const FlashCase cases[] = {
        // hd, n_q, n_head, n_head_kv, n_kv, causal, window, softcap, ring, SMs
        {64, 16, 2, 2, 16, true, 0, 0.0f, false, 1000},      // one key tile, partial query tile
        {64, 70, 2, 1, 90, false, 20, 0.0f, false, 4},       // two query tiles, GQA 2, window, not causal
        {128, 37, 4, 2, 1100, true, 300, 0.0f, false, 132},  // KV splits, dead tiles skipped per split
        {128, 33, 4, 1, 600, true, 0, 30.0f, false, 132},    // GQA 4 (rows straddle queries), soft-cap, splits
        {256, 20, 4, 1, 700, true, 50, 0.0f, true, 132},     // kpos ring, empty slots, blind queries, BK 32, splits
        {256, 64, 2, 2, 130, false, 0, 20.0f, true, 1},      // kpos ring, not causal, one split
        {128, 37, 4, 2, 1100, true, 300, 0.0f, false, 132, true},  // the shapes above with a Q8_0 cache
        {256, 20, 4, 1, 700, true, 50, 0.0f, true, 132, true},
        {64, 70, 2, 1, 90, false, 20, 0.0f, false, 4, true},
    };
    uint32_t seed = 11;
    for (const FlashCase & fc : cases) {
        std::vector<bool> blind;
        const FlashData d = make_flash_data(fc, seed++, blind);
        PrefillSplit sp{};
        const std::vector<float> got = replay_launch(fc, d, sp);
        const std::vector<double> want = flash_reference(fc, d);
        double max_ref = 0, max_err = 0;
        for (size_t i = 0; i < want.size(); ++i) {
            max_ref = std::max(max_ref, std::fabs(want[i]));
            max_err = std::max(max_err, std::isfinite(got[i]) ? std::fabs(double(got[i]) - want[i]) : INFINITY);
        }
        INFO((fc.q8 ? "Q8_0" : "F16") << " hd " << fc.hd << " n_q " << fc.n_q << " heads " << fc.n_head << "/"
                                      << fc.n_head_kv << " n_kv " << fc.n_kv << " splits " << sp.n_split << " max err "
                                      << max_err << " of " << max_ref);
        CHECK(max_err <= 4e-3 * max_ref);
        for (int64_t i = 0; i < fc.n_q; ++i) {
            if (!blind[size_t(i)]) continue;
            for (int64_t e = 0; e < fc.n_head * fc.hd; ++e) REQUIRE(got[size_t(i * fc.n_head * fc.hd + e)] == 0.0f);
        }
    }
}
