// backends/cuda/ops/mma_layout.h — host+device index math of the repacked tensor-core mul_mat
// (mma.cuh k_mul_mat_mma_rp, repack.cu): the repacked weight layout, the gather that builds it, the
// decode of a repacked code word into an mma A fragment, and the swizzled shared-memory activation
// tile with its ldmatrix addresses. Plain C++ on the host (QUANTA_HD is empty there), so
// tests/backends/cuda/host/test_cuda_repack.cpp checks every index on the CPU without a GPU.
//
// mma.sync.m16n8k16 .bf16 fragments (PTX ISA, "Matrix Fragments for mma.m16n8k16"), lane = 4g + t:
//   A (16 x 16, row-major, here rows = weight rows n, columns = k): register r (0..3) holds the
//     pair of elements j = 2r, 2r + 1 with (a_row, a_col)(j) = (g + 8 ((j >> 1) & 1), 2t + (j & 1) + 8 (j >> 2)).
//   B (16 x 8, "col", here B[k][c] = activation column c, element k): register r (0..1) holds
//     B[2t + 8r][g], B[2t + 8r + 1][g].
//   C (16 x 8): c0, c1 = C[g][2t], C[g][2t + 1]; c2, c3 = C[g + 8][2t], C[g + 8][2t + 1].
//
// Repacked layout of one weight matrix [K, N] of type R (R = RpQ4_0, RpQ8_0, RpQ4_K, RpQT4). Rows
// are grouped in tiles of 16 (N rounded up to Np = 16 ceil(N / 16); padding rows are zero), K in
// k16 steps. Lane L of an mma needs 8 codes per (tile, k16 step): its A fragment elements j = 0..7.
// For 4-bit codes that is one 32-bit word (code j in bits 4j..4j+3), for 8-bit codes two words
// (code j in byte j). A "unit" is the 16 bytes lane L needs for kUnitSteps consecutive k16 steps
// (4 steps = 64 k for 4-bit types, 2 steps = 32 k for Q8_0), so ONE 16-byte cp.async brings exactly
// what one lane's fragments need and a warp reads a tile's units as 512 contiguous bytes.
//   codes: [tile (Np / 16)][unit kc (K / kUnitK)][lane 32][16 bytes]
//   meta:  [tile][block mb (K / kQK)][row r (16)][kMetaBytes]  — the block's bytes before its codes,
//          copied unchanged (Q4_0 / Q8_0: fp16 d; Q4_K: d, dmin, 12 scale bytes; QT4: d, scales, signs)
// A weight is decoded from its code and its block's meta with quant/'s helpers, operation for
// operation as decoders.h (so it is the reference's float, up to FMA contraction on the device),
// then rounded once to bf16 — the same operands as the unrepacked kernel.
// Size: Np * row_bytes, i.e. exactly the original bytes when N % 16 == 0 (every model matrix).
//
// Activations: each stage holds a [rows][64 k] bf16 tile, 128 bytes per row = 8 chunks of 16 bytes;
// logical chunk c of row m sits at physical chunk c ^ (m & 7), so the 8 row addresses of one
// ldmatrix 8x8 matrix fall in 8 different 16-byte bank groups (conflict-free) and the 8 chunks one
// row's cp.async copies write are a permutation of the row.
#pragma once

#if defined(__CUDACC__)
#include <cuda_bf16.h>
#endif

#include <cstdint>

#include "backends/cuda/ops/decoders.h"

namespace quanta::backends::cuda {

constexpr int kRpTileRows = 16;    // weight rows per repacked tile (one mma A tile)
constexpr int kRpUnitBytes = 16;   // bytes per lane per unit (one cp.async)
constexpr int kRpStageK = 64;      // k per pipeline stage
constexpr int kRpXChunks = kRpStageK / 8;  // 16-byte chunks per activation row of a stage

// ---- the A fragment map -------------------------------------------------------------------------

QUANTA_HD inline int a_row(int lane, int j) { return (lane >> 2) + 8 * ((j >> 1) & 1); }
QUANTA_HD inline int a_col(int lane, int j) { return 2 * (lane & 3) + (j & 1) + 8 * (j >> 2); }

// ---- per-type traits: codes and scales ----------------------------------------------------------

// Per-(row, 32-k group) factors: weight = s * value(code) - m (m only for Q4_K).
struct RpScale {
    float s;
    float m;
};

// Exactly float(u) - c for integers 0 <= u < 2^22, 0 <= c < 2^22: on the device with the
// 2^23 magic (an OR and a subtraction, no I2F), on the host as written.
QUANTA_HD inline float u_minus(int u, float c) {
#if defined(__CUDA_ARCH__)
    return __int_as_float(0x4B000000 | u) - (8388608.0f + c);
#else
    return float(u) - c;
#endif
}

QUANTA_HD inline float meta_half(const uint8_t * p) { return half_bits_to_float(uint16_t(p[0] | (p[1] << 8))); }

struct RpQ4_0 {
    static constexpr int kQK = 32, kBytes = 18, kBits = 4, kMetaBytes = 2;
    QUANTA_HD static int code(const char * block, int e) {
        return q4_nibble(reinterpret_cast<const BlockQ4_0 *>(block)->qs, e);
    }
    QUANTA_HD static RpScale scale(const uint8_t * meta, int) { return {meta_half(meta), 0.0f}; }
    QUANTA_HD static float weight(RpScale s, int code) { return s.s * u_minus(code, 8.0f); }  // d * (q - 8)
};

struct RpQ8_0 {
    static constexpr int kQK = 32, kBytes = 34, kBits = 8, kMetaBytes = 2;
    QUANTA_HD static int code(const char * block, int e) {
        return uint8_t(reinterpret_cast<const BlockQ8_0 *>(block)->qs[e]);
    }
    QUANTA_HD static RpScale scale(const uint8_t * meta, int) { return {meta_half(meta), 0.0f}; }
    // code ^ 0x80 = q + 128 for the int8 q stored as its byte
    QUANTA_HD static float weight(RpScale s, int code) { return s.s * u_minus(code ^ 0x80, 128.0f); }
};

// Q4_K: element e sits in byte qs[32 (e / 64) + e % 32], low nibble when (e / 32) is even (q4k_level).
struct RpQ4_K {
    static constexpr int kQK = 256, kBytes = 144, kBits = 4, kMetaBytes = 16;
    QUANTA_HD static int code(const char * block, int e) {
        return q4k_level(reinterpret_cast<const BlockQ4_K *>(block)->qs, e);
    }
    // sub = the 32-element sub-block; meta = d, dmin, scales[12] (BlockQ4_K's first 16 bytes)
    QUANTA_HD static RpScale scale(const uint8_t * meta, int sub) {
        int sc, m;
        k4_scale_min(meta + 4, sub, &sc, &m);
        return {meta_half(meta) * float(sc), meta_half(meta + 2) * float(m)};
    }
    QUANTA_HD static float weight(RpScale s, int code) { return s.s * u_minus(code, 0.0f) - s.m; }
};

// QT4 in the rotated domain (the activations are rotated, as everywhere on the GPU).
struct RpQT4 {
    static constexpr int kQK = 512, kBytes = 272, kBits = 4, kMetaBytes = 16;
    QUANTA_HD static int code(const char * block, int e) {
        return qt4_index(*reinterpret_cast<const BlockQT4 *>(block), e);
    }
    // meta = d, scales_l, scales_h, signs (BlockQT4's first 16 bytes; qt4_scale reads only those)
    QUANTA_HD static RpScale scale(const uint8_t * meta, int sub) {
        return {meta_half(meta) * float(qt4_scale(*reinterpret_cast<const BlockQT4 *>(meta), sub)), 0.0f};
    }
    QUANTA_HD static float weight(RpScale s, int code) { return s.s * u_minus(iq4_reg(code) + 128, 128.0f); }
};

// Derived sizes of type R's repacked layout.
template <typename R>
struct RpShape {
    static constexpr int kStepBytes = R::kBits;                   // code bytes per lane per k16 step
    static constexpr int kUnitSteps = kRpUnitBytes / kStepBytes;  // k16 steps per unit: 4 or 2
    static constexpr int kUnitK = 16 * kUnitSteps;                // k per unit: 64 or 32
    static constexpr int kStageUnits = kRpStageK / kUnitK;        // units per (tile, stage): 1 or 2
    static constexpr int kStageBlocks = R::kQK <= kRpStageK ? kRpStageK / R::kQK : 1;  // meta blocks per stage
    static constexpr int kStageMetaBytes = kStageBlocks * kRpTileRows * R::kMetaBytes;  // per tile and stage
    static_assert(kRpStageK % kUnitK == 0 && (R::kQK % kRpStageK == 0 || kRpStageK % R::kQK == 0));
    static_assert(kStageMetaBytes % 16 == 0, "meta of a stage must be whole 16-byte copies");
    static_assert(R::kBytes == R::kQK * R::kBits / 8 + R::kMetaBytes, "codes + meta = the block");
};

// Byte offsets inside one repacked matrix of K columns and N rows.
struct RpMatrix {
    int64_t K = 0, N = 0, tiles = 0, units_per_tile = 0, blocks_per_row = 0, code_bytes = 0, bytes = 0;
    int unit_k = 0, meta_bytes = 0;

    QUANTA_HD int64_t unit_offset(int64_t tile, int64_t kc, int lane) const {
        return (tile * units_per_tile + kc) * (32 * kRpUnitBytes) + int64_t(lane) * kRpUnitBytes;
    }
    QUANTA_HD int64_t meta_offset(int64_t tile, int64_t mb, int r) const {
        return code_bytes + ((tile * blocks_per_row + mb) * kRpTileRows + r) * meta_bytes;
    }
};

template <typename R>
QUANTA_HD inline RpMatrix rp_matrix(int64_t K, int64_t N) {
    RpMatrix m;
    m.K = K;
    m.N = N;
    m.tiles = (N + kRpTileRows - 1) / kRpTileRows;
    m.unit_k = RpShape<R>::kUnitK;
    m.meta_bytes = R::kMetaBytes;
    m.units_per_tile = K / m.unit_k;
    m.blocks_per_row = K / R::kQK;
    m.code_bytes = m.tiles * m.units_per_tile * 32 * kRpUnitBytes;
    m.bytes = m.code_bytes + m.tiles * m.blocks_per_row * kRpTileRows * R::kMetaBytes;
    return m;
}

// K the repacked kernel accepts: whole stages (and whole blocks, which the type guarantees).
QUANTA_HD inline bool rp_k_ok(int64_t K) { return K >= kRpStageK && K % kRpStageK == 0; }

// ---- the repack (one thread per unit / per meta row on the device; loops on the host) ------------

// Unit (tile, kc, lane) of the matrix whose row n starts at rows + n * row_stride (original blocks):
// slot q = 8 s + j (k16 step s of the unit, fragment element j) holds the code of row
// 16 tile + a_row(lane, j), column kc * kUnitK + 16 s + a_col(lane, j); 0 for padding rows.
template <typename R>
QUANTA_HD inline void rp_gather_unit(const char * rows, int64_t row_stride, int64_t N, int64_t tile, int64_t kc,
                                     int lane, uint8_t * out) {
    using S = RpShape<R>;
    for (int i = 0; i < kRpUnitBytes; ++i) out[i] = 0;
    for (int q = 0; q < 8 * S::kUnitSteps; ++q) {
        const int s = q >> 3, j = q & 7;
        const int64_t n = tile * kRpTileRows + a_row(lane, j);
        const int64_t k = kc * S::kUnitK + 16 * s + a_col(lane, j);
        const int c = n < N ? R::code(rows + n * row_stride + (k / R::kQK) * R::kBytes, int(k % R::kQK)) : 0;
        if (R::kBits == 4) {
            out[q >> 1] = uint8_t(out[q >> 1] | (c << (4 * (q & 1))));
        } else {
            out[q] = uint8_t(c);
        }
    }
}

// Meta row (tile, mb, r): the first kMetaBytes of block mb of row 16 tile + r; zeros for padding.
template <typename R>
QUANTA_HD inline void rp_gather_meta(const char * rows, int64_t row_stride, int64_t N, int64_t tile, int64_t mb, int r,
                                     uint8_t * out) {
    const int64_t n = tile * kRpTileRows + r;
    const char * b = rows + n * row_stride + mb * R::kBytes;
    for (int i = 0; i < R::kMetaBytes; ++i) out[i] = n < N ? uint8_t(b[i]) : 0;
}

// ---- decoding a unit into A fragments ----------------------------------------------------------

// Code of fragment element j at k16 step s of a unit held as 4 little-endian words.
template <typename R>
QUANTA_HD inline int rp_code(const uint32_t * unit, int s, int j) {
    if (R::kBits == 4) return int((unit[s] >> (4 * j)) & 0xF);
    return int((unit[2 * s + (j >> 2)] >> (8 * (j & 3))) & 0xFF);
}

// 32-k group of the block that column k falls in (the `sub` argument of R::scale).
template <typename R>
QUANTA_HD inline int rp_sub(int64_t k) { return int((k % R::kQK) >> 5); }

// Two floats -> a bf16x2 register (lo in bits 0..15), round to nearest even.
QUANTA_HD inline uint32_t pack_bf16x2(float lo, float hi) {
#if defined(__CUDA_ARCH__)
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<const uint32_t *>(&v);
#else
    return uint32_t(quant::fp32_to_bf16(lo)) | (uint32_t(quant::fp32_to_bf16(hi)) << 16);
#endif
}

// A fragment register r (0..3) of k16 step s of a unit: elements 2r, 2r + 1, both of row
// a_row(lane, 2r) (g for even r, g + 8 for odd r), so one scale: s_g for r even, s_g8 for r odd.
template <typename R>
QUANTA_HD inline uint32_t rp_a_reg(const uint32_t * unit, int s, int r, RpScale s_g, RpScale s_g8) {
    const RpScale sc = (r & 1) ? s_g8 : s_g;
    return pack_bf16x2(R::weight(sc, rp_code<R>(unit, s, 2 * r)), R::weight(sc, rp_code<R>(unit, s, 2 * r + 1)));
}

// ---- the activation tile and its ldmatrix addresses -------------------------------------------

// Element offset (bf16) of logical chunk c (8 elements) of row m in a stage's activation tile.
QUANTA_HD inline int x_chunk_offset(int m, int c) { return m * kRpStageK + 8 * (c ^ (m & 7)); }

// ldmatrix.x4 for the B fragments of n8 tiles j0 and j0 + 1 (columns col0 + 8 j0 ...) at k16 step
// s of a stage: lane L gives the row address of matrix L / 8, row L % 8: matrix q covers columns
// col0 + 8 (j0 + q / 2) .. + 8 and k 16 s + 8 (q % 2) .. + 8. Registers 0, 1 are B fragment
// registers 0, 1 of tile j0; registers 2, 3 those of tile j0 + 1.
QUANTA_HD inline int ldmatrix_b_offset(int lane, int col0, int j0, int s) {
    const int q = lane >> 3, r = lane & 7;
    return x_chunk_offset(col0 + 8 * (j0 + (q >> 1)) + r, 2 * s + (q & 1));
}

// ---- one block's stages: kernel 1's copy and read offsets (the host test replays a whole block) ----

// Block geometry of kernel 1 (mma.cuh): 128 weight rows (8 tiles) x (2 warp_m) activation columns;
// warp w owns rows 32 (w % 4) .. + 32 (its tiles 2 (w % 4), + 1) and columns warp_m (w / 4) ...
constexpr int kRpBlockRows = 128;
constexpr int kRpBlockTiles = kRpBlockRows / kRpTileRows;

template <typename R>
struct RpStage {
    using S = RpShape<R>;
    static constexpr int kCodeCopies = kRpBlockTiles * S::kStageUnits * 32;  // 16-byte copies per stage
    static constexpr int kMetaCopies = kRpBlockTiles * S::kStageMetaBytes / 16;
    static constexpr int kCodeBytes = kCodeCopies * 16;  // stage layout: codes, then meta
    static constexpr int kMetaBytes = kMetaCopies * 16;

    // Code copy i of stage kt of the block whose first tile is tile0 goes to stage byte 16 i from
    // this byte offset of the repacked matrix; -1 past the last tile (the copy zero-fills).
    QUANTA_HD static int64_t code_src(const RpMatrix & m, int64_t tile0, int64_t kt, int i) {
        constexpr int kPerTile = S::kStageUnits * 32;
        const int64_t tile = tile0 + i / kPerTile;
        const int rest = i % kPerTile;
        return tile < m.tiles ? m.unit_offset(tile, kt * S::kStageUnits + rest / 32, rest % 32) : -1;
    }
    // Meta copy i goes to stage byte kCodeBytes + 16 i from this offset; -1 past the last tile.
    QUANTA_HD static int64_t meta_src(const RpMatrix & m, int64_t tile0, int64_t kt, int i) {
        constexpr int kPerTile = S::kStageMetaBytes / 16;
        const int64_t tile = tile0 + i / kPerTile;
        return tile < m.tiles ? m.meta_offset(tile, kt * kRpStageK / R::kQK, 0) + 16 * (i % kPerTile) : -1;
    }
    // Stage byte of lane's unit u (0 .. kStageUnits - 1) of block tile tl.
    QUANTA_HD static int unit_at(int tl, int u, int lane) { return ((tl * S::kStageUnits + u) * 32 + lane) * kRpUnitBytes; }
    // Stage byte of the meta (kMetaBytes) of row r of block tile tl for the stage's k16 step s16.
    QUANTA_HD static int meta_at(int tl, int s16, int r) {
        const int mb = R::kQK <= kRpStageK ? (16 * s16) / R::kQK : 0;
        return kCodeBytes + tl * S::kStageMetaBytes + (mb * kRpTileRows + r) * R::kMetaBytes;
    }
};

// Activation copy i of stage kt (tile row i / 8, chunk i % 8; destination element
// x_chunk_offset(i / 8, i % 8) of the stage's tile): element offset of its 8 bf16 in the packed
// [M][K] activations of the batch, or -1 for a column past M (zero-filled).
QUANTA_HD inline int64_t rp_x_src(int64_t m0, int64_t M, int64_t K, int64_t kt, int i) {
    const int64_t m = m0 + i / kRpXChunks;
    return m < M ? m * K + kt * kRpStageK + 8 * (i % kRpXChunks) : -1;
}

// Accumulator register r of (tile i, n8 tile j) of warp (wn, wm): its row in the block and its
// column in the block (PTX C layout: c0, c1 = C[g][2t], C[g][2t + 1]; c2, c3 = row g + 8).
QUANTA_HD inline int rp_c_row(int wn, int i, int lane, int r) { return 32 * wn + 16 * i + (lane >> 2) + (r >= 2 ? 8 : 0); }
QUANTA_HD inline int rp_c_col(int warp_m, int wm, int j, int lane, int r) { return warp_m * wm + 8 * j + 2 * (lane & 3) + (r & 1); }

// ---- kernel 1's cp.async pipeline schedule (the host test simulates its commit groups) -------------

// Local stage it (0 .. nl - 1 of a split) lives in shared slot it % stages. The prologue issues
// stages 0 .. stages - 2, one commit group each (empty past nl); iteration it waits until at most
// rp_wait_groups(stages) of this thread's groups are in flight (so stage it has landed), syncs the
// block, then issues stage rp_prefetch(it, stages) (if < nl) into its slot, which stage it - 1
// used and every warp has finished reading, and commits one group (empty or not), so every
// iteration sees the same count.
QUANTA_HD constexpr int rp_wait_groups(int stages) { return stages - 2; }
QUANTA_HD constexpr int rp_prefetch(int it, int stages) { return it + stages - 1; }
QUANTA_HD constexpr int rp_slot(int it, int stages) { return it % stages; }

// ---- the launch plan of kernel 1: column tiling and split-K ---------------------------------------

// Columns per warp: 32 (a block of 64 columns) for up to 64 activation columns, else 64 (128).
QUANTA_HD inline int rp_warp_m(int64_t M) { return M <= 64 ? 32 : 64; }

// K splits: when the (column tiles x row blocks x batches) grid has fewer blocks than half the SMs
// (short prompts on small matrices: 16 columns of a 4096-row matrix are 32 blocks), K is split
// into ceil(SMs / blocks) parts, at most 8 and at most one per stage; each split writes its
// partial tile to scratch and k_rp_reduce sums them in split order (deterministic). Larger grids
// are not split: the partials' extra traffic (2 x splits x M x N floats) would cost more than the
// last wave's idle SMs. 1 = no split.
QUANTA_HD inline int rp_splits(int64_t M, int64_t N, int64_t K, int64_t batches, int sm_count) {
    const int64_t cols = 2 * rp_warp_m(M);
    const int64_t blocks = ((M + cols - 1) / cols) * ((N + kRpBlockRows - 1) / kRpBlockRows) * batches;
    const int64_t sms = sm_count > 0 ? sm_count : 1;
    if (2 * blocks >= sms) return 1;
    int64_t s = (sms + blocks - 1) / blocks;
    const int64_t nk = K / kRpStageK;
    s = s < 8 ? s : 8;
    s = s < nk ? s : nk;
    return int(s < 1 ? 1 : s);
}

// Stages [begin, end) of split s of `splits` over nk stages: consecutive, disjoint, covering
// [0, nk), each non-empty when splits <= nk.
QUANTA_HD inline int rp_split_begin(int nk, int splits, int s) { return int(int64_t(nk) * s / splits); }

}  // namespace quanta::backends::cuda
