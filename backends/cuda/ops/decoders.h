// backends/cuda/ops/decoders.h — host+device code of the CUDA kernels that can be checked without a
// GPU: one decoder per weight type, the mat-vec units (QT4, QT3, QT2, Q4_K, Q4_0, Q8_0), the kpos
// visibility rule, Q8_0 encoding, QT4's signs.
// Compiled by nvcc for the kernels (QUANTA_HD = __host__ __device__) and by the C++ compiler for
// tests/backends/cuda/host/test_cuda_decoders.cpp, which holds them to quant/'s reference codecs.
//
// Decoders. Every block type is read in chunks of 32 consecutive elements (every block size here
// is a multiple of 32): D::chunk(block, c, w) writes elements [32c, 32c + 32) of the block into
// w[32]. They are written on the per-block helpers of quant/ (QUANTA_HD inline functions on the
// plain block structs: k4_scale_min, q4k_level, q6k_level, qt4_scale, ...) and follow the scalar
// dequantize_row_* of quant/ operation for operation, so a decoded weight is the reference's float
// (on the device up to FMA contraction of `dl * q - ml`, which nvcc may fuse). QT4's, QT3's and
// QT2's chunks are their ROTATED values (what their dot products use); un-rotating needs all 256
// elements of a rotation block (matmul.cu).
// Float types (F32, F16, BF16) are element-addressable and handled per element instead.
#pragma once

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#endif

#include <cstdint>
#include <cstring>

#include "quant/fp.h"
#include "quant/kquants.h"
#include "quant/legacy.h"
#include "quant/qt2.h"
#include "quant/qt3.h"
#include "quant/qt4.h"

namespace quanta::backends::cuda {

// ---- attention visibility (the kpos contract, core/ops.h) ---------------------------------------

// Key slot j is visible to a query at position pq iff kp >= 0 && (!causal || kp <= pq) &&
// (window == 0 || pq - kp < window), kp = kpos[j], or j when there is no kpos.
QUANTA_HD inline bool key_visible(int64_t j, int64_t pq, const int32_t * kpos, bool causal, int64_t window) {
    const int64_t kp = kpos ? int64_t(kpos[j]) : j;
    return kp >= 0 && (!causal || kp <= pq) && (window <= 0 || pq - kp < window);
}

// ---- fp16 / bf16 / Q8_0 encoding -----------------------------------------------------------------

// fp16 bits -> float: the hardware conversion on the device, quant/fp.h's exact integer version on
// the host (the same float for every input).
QUANTA_HD inline float half_bits_to_float(uint16_t h) {
#if defined(__CUDA_ARCH__)
    return __half2float(__ushort_as_half(h));
#else
    return quant::fp16_to_fp32(h);
#endif
}

// Mirror of quant/search.h round_away (host-only there): half away from zero, `a - trunc(a)` exact.
QUANTA_HD inline int round_away_dev(float v) {
    const float a = v < 0.0f ? -v : v;
    const int t = int(a);
    const int r = t + ((a - float(t)) >= 0.5f ? 1 : 0);
    return v < 0.0f ? -r : r;
}

// One Q8_0 block from 32 floats, as quant/legacy.cpp quantize_row_q8_0 (d = amax / 127,
// q = round_away(x / d)): the same bytes as the CPU for the same floats.
QUANTA_HD inline void encode_q8_0(const float * x, quant::BlockQ8_0 * y) {
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) {
        const float a = x[j] < 0.0f ? -x[j] : x[j];
        amax = a > amax ? a : amax;
    }
#if defined(__CUDA_ARCH__)
    const float d = __fdiv_rn(amax, 127.0f);  // IEEE division and product, never contracted
    const float id = d != 0.0f ? __fdiv_rn(1.0f, d) : 0.0f;
#else
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
#endif
    y->d = quant::fp32_to_fp16(d);
    for (int j = 0; j < 32; ++j) {
#if defined(__CUDA_ARCH__)
        y->qs[j] = int8_t(round_away_dev(__fmul_rn(x[j], id)));
#else
        y->qs[j] = int8_t(round_away_dev(x[j] * id));
#endif
    }
}

// ---- the IQ4 grid ----------------------------------------------------------------------------------

// Mirror of quant::kIQ4Values (a host constexpr array, not addressable from device code); the
// static_assert below holds the two copies equal. iq4(q) reads the one of the side it runs on.
#define QUANTA_IQ4_GRID -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113
#if defined(__CUDACC__)
static __constant__ int8_t c_iq4[16] = {QUANTA_IQ4_GRID};
#endif
constexpr int8_t kIQ4Mirror[16] = {QUANTA_IQ4_GRID};
constexpr bool iq4_grid_matches() {
    for (int i = 0; i < 16; ++i) {
        if (kIQ4Mirror[i] != quant::kIQ4Values[i]) return false;
    }
    return true;
}
static_assert(iq4_grid_matches(), "backends/cuda: c_iq4 must equal quant::kIQ4Values");

QUANTA_HD inline int iq4(int q) {
#if defined(__CUDA_ARCH__)
    return c_iq4[q];
#else
    return quant::kIQ4Values[q];
#endif
}

// QT4's fixed sign S_i (quant/qt4.cpp Signs): bit 31 of the (i+1)-th LCG state after 0x51A7E5.
QUANTA_HD inline float qt4_sign(int i) {
    uint32_t st = 0x51A7E5u;
    for (int k = 0; k <= i; ++k) st = st * 1664525u + 1013904223u;
    return (st >> 31) ? -1.0f : 1.0f;
}

// 16 bytes from src into dst (16-byte aligned: callers declare it alignas(16)): one 128-bit load
// on the device when src is 16-byte aligned (the row's and block's alignment decide; a misaligned
// row falls back to byte loads), memcpy on the host.
QUANTA_HD inline void load_bytes16(uint8_t * dst, const uint8_t * src) {
#if defined(__CUDA_ARCH__)
    if ((reinterpret_cast<uintptr_t>(src) & 15u) == 0) {
        *reinterpret_cast<uint4 *>(dst) = *reinterpret_cast<const uint4 *>(src);
    } else {
        for (int i = 0; i < 16; ++i) dst[i] = src[i];
    }
#else
    std::memcpy(dst, src, 16);
#endif
}

// 16 bytes, src 16-byte aligned (the caller's launch check): one 128-bit load on the device.
QUANTA_HD inline void load16_aligned(uint8_t * dst, const uint8_t * src) {
#if defined(__CUDA_ARCH__)
    *reinterpret_cast<uint4 *>(dst) = *reinterpret_cast<const uint4 *>(src);
#else
    std::memcpy(dst, src, 16);
#endif
}

// ---- block decoders ------------------------------------------------------------------------------

using namespace quanta::quant;

struct DecQ4_0 {
    static constexpr int kQK = 32, kBytes = 18;
    QUANTA_HD static void chunk(const char * p, int, float * w) {
        const BlockQ4_0 & b = *reinterpret_cast<const BlockQ4_0 *>(p);
        const float d = half_bits_to_float(b.d);
        for (int j = 0; j < 32; ++j) w[j] = d * float(q4_nibble(b.qs, j) - 8);
    }
};

struct DecQ4_1 {
    static constexpr int kQK = 32, kBytes = 20;
    QUANTA_HD static void chunk(const char * p, int, float * w) {
        const BlockQ4_1 & b = *reinterpret_cast<const BlockQ4_1 *>(p);
        const float d = half_bits_to_float(b.d), m = half_bits_to_float(b.m);
        for (int j = 0; j < 32; ++j) w[j] = d * float(q4_nibble(b.qs, j)) + m;
    }
};

struct DecQ5_0 {
    static constexpr int kQK = 32, kBytes = 22;
    QUANTA_HD static void chunk(const char * p, int, float * w) {
        const BlockQ5_0 & b = *reinterpret_cast<const BlockQ5_0 *>(p);
        const float d = half_bits_to_float(b.d);
        for (int j = 0; j < 32; ++j) w[j] = d * float((q4_nibble(b.qs, j) | (q5_high(b.qh, j) << 4)) - 16);
    }
};

struct DecQ5_1 {
    static constexpr int kQK = 32, kBytes = 24;
    QUANTA_HD static void chunk(const char * p, int, float * w) {
        const BlockQ5_1 & b = *reinterpret_cast<const BlockQ5_1 *>(p);
        const float d = half_bits_to_float(b.d), m = half_bits_to_float(b.m);
        for (int j = 0; j < 32; ++j) w[j] = d * float(q4_nibble(b.qs, j) | (q5_high(b.qh, j) << 4)) + m;
    }
};

struct DecQ8_0 {
    static constexpr int kQK = 32, kBytes = 34;
    QUANTA_HD static void chunk(const char * p, int, float * w) {
        const BlockQ8_0 & b = *reinterpret_cast<const BlockQ8_0 *>(p);
        const float d = half_bits_to_float(b.d);
        for (int j = 0; j < 32; ++j) w[j] = d * float(b.qs[j]);
    }
};

struct DecIQ4_NL {
    static constexpr int kQK = 32, kBytes = 18;
    QUANTA_HD static void chunk(const char * p, int, float * w) {
        const BlockIQ4_NL & b = *reinterpret_cast<const BlockIQ4_NL *>(p);
        const float d = half_bits_to_float(b.d);
        for (int j = 0; j < 32; ++j) w[j] = d * float(iq4(q4_nibble(b.qs, j)));
    }
};

struct DecQ2_K {
    static constexpr int kQK = 256, kBytes = 84;
    QUANTA_HD static void chunk(const char * p, int c, float * w) {
        const BlockQ2_K & b = *reinterpret_cast<const BlockQ2_K *>(p);
        const float d = half_bits_to_float(b.d), dmin = half_bits_to_float(b.dmin);
        for (int i = 0; i < 32; ++i) {
            const int e = 32 * c + i;
            const uint8_t s = b.scales[e >> 4];
            w[i] = d * float(s & 0xF) * float(q2k_level(b, e)) - dmin * float(s >> 4);
        }
    }
};

struct DecQ3_K {
    static constexpr int kQK = 256, kBytes = 110;
    QUANTA_HD static void chunk(const char * p, int c, float * w) {
        const BlockQ3_K & b = *reinterpret_cast<const BlockQ3_K *>(p);
        const float d = half_bits_to_float(b.d);
        for (int i = 0; i < 32; ++i) {
            const int e = 32 * c + i;
            w[i] = d * float(q3k_scale(b.scales, e >> 4)) * float(q3k_level(b, e));
        }
    }
};

// Chunk c of a Q4_K block is sub-block c: elements 32c + i sit in byte qs[32 (c / 2) + i], low
// nibble for even c, high for odd (q4k_level spelled out for a whole chunk). The 32 bytes start
// on a 16-byte boundary of the 144-byte block: two 128-bit loads when the block is aligned.
struct DecQ4_K {
    static constexpr int kQK = 256, kBytes = 144;
    QUANTA_HD static void chunk(const char * p, int c, float * w) {
        const BlockQ4_K & b = *reinterpret_cast<const BlockQ4_K *>(p);
        const float d = half_bits_to_float(b.d), dmin = half_bits_to_float(b.dmin);
        int sc, m;
        k4_scale_min(b.scales, c, &sc, &m);
        const float dl = d * float(sc), ml = dmin * float(m);
        alignas(16) uint8_t q[32];
        load_bytes16(q, b.qs + 32 * (c >> 1));
        load_bytes16(q + 16, b.qs + 32 * (c >> 1) + 16);
        const int shift = (c & 1) * 4;
        for (int i = 0; i < 32; ++i) w[i] = dl * float((q[i] >> shift) & 0xF) - ml;
    }
};

struct DecQ5_K {
    static constexpr int kQK = 256, kBytes = 176;
    QUANTA_HD static void chunk(const char * p, int c, float * w) {
        const BlockQ5_K & b = *reinterpret_cast<const BlockQ5_K *>(p);
        const float d = half_bits_to_float(b.d), dmin = half_bits_to_float(b.dmin);
        int sc, m;
        k4_scale_min(b.scales, c, &sc, &m);
        const float dl = d * float(sc), ml = dmin * float(m);
        for (int i = 0; i < 32; ++i) w[i] = dl * float(q5k_level(b, 32 * c + i)) - ml;
    }
};

struct DecQ6_K {
    static constexpr int kQK = 256, kBytes = 210;
    QUANTA_HD static void chunk(const char * p, int c, float * w) {
        const BlockQ6_K & b = *reinterpret_cast<const BlockQ6_K *>(p);
        const float d = half_bits_to_float(b.d);
        for (int i = 0; i < 32; ++i) {
            const int e = 32 * c + i;
            w[i] = d * float(b.scales[e >> 4]) * float(q6k_level(b, e));
        }
    }
};

struct DecIQ4_XS {
    static constexpr int kQK = 256, kBytes = 136;
    QUANTA_HD static void chunk(const char * p, int c, float * w) {
        const BlockIQ4_XS & b = *reinterpret_cast<const BlockIQ4_XS *>(p);
        const float dl = half_bits_to_float(b.d) * float(iq4xs_scale(b, c));
        for (int i = 0; i < 32; ++i) w[i] = dl * float(iq4(iq4xs_index(b, 32 * c + i)));
    }
};

// ---- the rotated types QT4, QT3, QT2 ---------------------------------------------------------------
//
// They store R w (quant/qt4.h), and their decoders return the ROTATED values: chunk() for mul_mat
// (which rotates the activations instead: w . x = (R w) . (R x)) and elem(block, e), element e of
// the block, for get_rows, which un-rotates 256 of them at a time in shared memory (matmul.cu).
// Every value is the reference's `d * float(s) * float(level)`, left to right. They declare
// kRotated = true; is_rotated_decoder<D>() reads it (false for every other decoder).

template <typename D>
constexpr bool is_rotated_decoder() {
    if constexpr (requires { D::kRotated; }) {
        return D::kRotated;
    } else {
        return false;
    }
}

// QT4 sub-block c in the rotated domain: d * s_c * grid[q], as dequantize_row_qt4 before its
// un-rotation. The 16 index bytes of a sub-block start on a 16-byte boundary of the block: one
// 128-bit load when the block itself is 16-byte aligned, byte loads otherwise.
struct DecQT4 {
    static constexpr int kQK = 512, kBytes = 272;
    static constexpr bool kRotated = true;
    QUANTA_HD static void chunk(const char * p, int c, float * w) {
        const BlockQT4 & b = *reinterpret_cast<const BlockQT4 *>(p);
        const float ds = half_bits_to_float(b.d) * float(qt4_scale(b, c));
        alignas(16) uint8_t q[16];
        load_bytes16(q, b.qs + 16 * c);
        for (int i = 0; i < 16; ++i) {
            w[i] = ds * float(iq4(q[i] & 0xF));
            w[i + 16] = ds * float(iq4(q[i] >> 4));
        }
    }
    QUANTA_HD static float elem(const char * p, int e) {
        const BlockQT4 & b = *reinterpret_cast<const BlockQT4 *>(p);
        return half_bits_to_float(b.d) * float(qt4_scale(b, e >> 5)) * float(iq4(qt4_index(b, e)));
    }
};

// The QT3 / QT2 grids (host constexpr arrays of quant/, not addressable from device code) packed
// into integer constants at compile time, one int8 level per byte: level q is a shift away, no
// memory access (so divergent indices never serialize, as iq4_reg below).
constexpr uint64_t pack_levels(const int8_t * levels, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | uint8_t(levels[i]);
    return v;
}
constexpr uint64_t kQT3Grid = pack_levels(quant::kQT3Levels, 8);
constexpr uint32_t kQT2Grid = uint32_t(pack_levels(quant::kQT2Levels, 4));
QUANTA_HD inline int qt3_level(int q) { return int(int8_t(uint8_t(kQT3Grid >> (8 * q)))); }
QUANTA_HD inline int qt2_level(int q) { return int(int8_t(uint8_t(kQT2Grid >> (8 * q)))); }

// The little-endian 32-bit word of 4 bytes at any alignment (byte k -> bits 8k..8k+7, the order of
// QT3's qh bits), whatever the host's byte order; the device's own 32-bit loads are little-endian.
QUANTA_HD inline uint32_t le32_bytes(const uint8_t * p) {
    return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

// 4 bytes, src 4-byte aligned (the launch check): one 32-bit load on the device.
QUANTA_HD inline uint32_t load_u32_aligned(const uint8_t * src) {
#if defined(__CUDA_ARCH__)
    return *reinterpret_cast<const uint32_t *>(src);
#else
    return le32_bytes(src);
#endif
}

// The 2-bit plane of quant/qt_common.h (QT3's ql, QT2's qs) for the 32 elements 32c..32c+31: they
// are in group c / 2, whose 16 bytes g16 hold element 32c + i (i < 16) in bits 4 (c % 2) + 0..1 of
// byte i and element 32c + 16 + i in bits 4 (c % 2) + 2..3 (qt_index2 spelled out for 32 elements).
// lo[i] / hi[i] receive the 2-bit fields of elements 32c + i / 32c + 16 + i.
QUANTA_HD inline void qt_plane32(const uint8_t * g16, int c, int * lo, int * hi) {
    const int sh = 4 * (c & 1);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int i = 0; i < 16; ++i) {
        lo[i] = (g16[i] >> sh) & 3;
        hi[i] = (g16[i] >> (sh + 2)) & 3;
    }
}

// QT3 sub-block c (elements 32c..32c+31, scale s_c) from its index pieces: g16 = ql's group c / 2
// (16 bytes), qh32 = qh bytes 4c..4c+3 as a little-endian word (bit i: bit 2 of element 32c + i's
// index, quant/qt3.h). ds = d * s_c.
QUANTA_HD inline void qt3_decode32(float ds, const uint8_t * g16, uint32_t qh32, int c, float * w) {
    int lo[16], hi[16];
    qt_plane32(g16, c, lo, hi);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int i = 0; i < 16; ++i) {
        w[i] = ds * float(qt3_level(lo[i] | int(((qh32 >> i) & 1u) << 2)));
        w[i + 16] = ds * float(qt3_level(hi[i] | int(((qh32 >> (i + 16)) & 1u) << 2)));
    }
}

// QT2 elements 32c..32c+31: sub-blocks 2c (the first 16, ds_lo = d * s_2c) and 2c + 1 (ds_hi).
QUANTA_HD inline void qt2_decode32(float ds_lo, float ds_hi, const uint8_t * g16, int c, float * w) {
    int lo[16], hi[16];
    qt_plane32(g16, c, lo, hi);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int i = 0; i < 16; ++i) {
        w[i] = ds_lo * float(qt2_level(lo[i]));
        w[i + 16] = ds_hi * float(qt2_level(hi[i]));
    }
}

// QT3 chunk c = sub-block c: ql's group c / 2 starts on a 16-byte boundary of the 208-byte block
// (one 128-bit load when the block is aligned, byte loads otherwise); qh's 4 bytes by byte loads.
struct DecQT3 {
    static constexpr int kQK = 512, kBytes = 208;
    static constexpr bool kRotated = true;
    QUANTA_HD static void chunk(const char * p, int c, float * w) { decode<false>(p, c, w); }
    // kAligned: the block is 16-byte aligned (the mat-vec kernel's launch check), so the plane is
    // one 128-bit load and qh's word one 32-bit load (UnitQT3); else whatever the alignment allows.
    template <bool kAligned>
    QUANTA_HD static void decode(const char * p, int c, float * w) {
        const BlockQT3 & b = *reinterpret_cast<const BlockQT3 *>(p);
        const float ds = half_bits_to_float(b.h.d) * float(qt_scale(b.h, c));
        alignas(16) uint8_t g[16];
        if constexpr (kAligned) load16_aligned(g, b.ql + 16 * (c >> 1));
        else load_bytes16(g, b.ql + 16 * (c >> 1));
        qt3_decode32(ds, g, kAligned ? load_u32_aligned(b.qh + 4 * c) : le32_bytes(b.qh + 4 * c), c, w);
    }
    QUANTA_HD static float elem(const char * p, int e) {
        const BlockQT3 & b = *reinterpret_cast<const BlockQT3 *>(p);
        return half_bits_to_float(b.h.d) * float(qt_scale(b.h, e >> 5)) * float(qt3_level(qt3_index(b, e)));
    }
};

// QT2 chunk c: elements 32c..32c+31 = sub-blocks 2c and 2c + 1; qs's group c / 2 at block byte
// 32 + 16 (c / 2), a 16-byte boundary.
struct DecQT2 {
    static constexpr int kQK = 512, kBytes = 160;
    static constexpr bool kRotated = true;
    QUANTA_HD static void chunk(const char * p, int c, float * w) { decode<false>(p, c, w); }
    // kAligned: as DecQT3's (UnitQT2).
    template <bool kAligned>
    QUANTA_HD static void decode(const char * p, int c, float * w) {
        const BlockQT2 & b = *reinterpret_cast<const BlockQT2 *>(p);
        const float d = half_bits_to_float(b.d);
        const float ds_lo = d * float(qt2_scale(b, 2 * c)), ds_hi = d * float(qt2_scale(b, 2 * c + 1));
        alignas(16) uint8_t g[16];
        if constexpr (kAligned) load16_aligned(g, b.qs + 16 * (c >> 1));
        else load_bytes16(g, b.qs + 16 * (c >> 1));
        qt2_decode32(ds_lo, ds_hi, g, c, w);
    }
    QUANTA_HD static float elem(const char * p, int e) {
        const BlockQT2 & b = *reinterpret_cast<const BlockQT2 *>(p);
        return half_bits_to_float(b.d) * float(qt2_scale(b, e >> 4)) * float(qt2_level(qt2_index(b, e)));
    }
};

// ---- mat-vec units (matvec.cuh) -------------------------------------------------------------------
//
// The decode mat-vec kernel walks a weight row in "units" of 32 weights, lane l of a warp taking
// units l, l + 32, ... so that consecutive lanes read consecutive bytes. A unit is what one lane
// can fetch with the widest legal loads: for the 16-byte-aligned layouts (QT4 272 B, Q4_K 144 B,
// QT3 208 B, QT2 160 B) one 16-byte piece of the block's level bytes (one uint4 load; the launch
// checks that the row base and strides are 16-byte aligned; QT3 adds one 32-bit load of its third
// bit plane), for the 2-byte-aligned 18/34-byte blocks (Q4_0, Q8_0) the whole block in 16-bit loads.
// U::unit(block, u, w) decodes unit u (0 <= u < kUnits) of the block at `block` into w[32]:
// w[0..16) are the block's elements lo(u)..lo(u)+15 and w[16..32) are hi(u)..hi(u)+15 (two runs of
// 16, both multiples of 16: the activations are read as float4).
// Every weight is computed exactly as the chunk decoders above compute it (the same quant/
// helpers, the same operations), so each unit is bit-exact to quant/'s reference
// (tests/backends/cuda/host/test_cuda_decoders.cpp checks every element of random blocks on the
// host).
// The per-sub-block scales are read with quant/'s helpers straight from the block (a few bytes
// that the 8..16 lanes sharing a block read from the same L1 line).

// QUANTA_CUDA_MATVEC: unset, empty or "vec" = the mat-vec kernel of matvec.cuh where a type has
// units, "simple" = the simple kernel for every type; anything else is Invalid (matmul.cu stops the
// program with a message naming the value and the two choices).
enum class MatvecKernel { Vec, Simple, Invalid };
inline MatvecKernel parse_matvec_kernel(const char * v) {
    if (!v || !*v || std::strcmp(v, "vec") == 0) return MatvecKernel::Vec;
    if (std::strcmp(v, "simple") == 0) return MatvecKernel::Simple;
    return MatvecKernel::Invalid;
}

// IQ4 grid value q (0..15) from two 64-bit constants: no memory access, so the lanes of a warp
// never serialize on divergent indices the way a __constant__ table lookup does. Identical code on
// both sides; the host test compares it with quant::kIQ4Values for every q.
constexpr uint64_t iq4_pack(int first) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | uint8_t(kIQ4Mirror[first + i]);
    return v;
}
constexpr uint64_t kIQ4Lo = iq4_pack(0), kIQ4Hi = iq4_pack(8);
QUANTA_HD inline int iq4_reg(int q) {
    const uint64_t g = (q & 8) ? kIQ4Hi : kIQ4Lo;
    return int(int8_t(uint8_t(g >> (8 * (q & 7)))));
}

// QT4 unit u = sub-block u: its 16 level bytes qs[16u..16u+16) (block bytes 16 + 16u, 16-byte
// aligned), element 32u + i in the low nibble of byte i, 32u + 16 + i in the high one.
struct UnitQT4 {
    static constexpr int kQK = 512, kBytes = 272, kUnits = 16, kAlign = 16;
    QUANTA_HD static int lo(int u) { return 32 * u; }
    QUANTA_HD static int hi(int u) { return 32 * u + 16; }
    QUANTA_HD static void unit(const char * p, int u, float * w) {
        const BlockQT4 & b = *reinterpret_cast<const BlockQT4 *>(p);
        const float ds = half_bits_to_float(b.d) * float(qt4_scale(b, u));
        alignas(16) uint8_t q[16];
        load16_aligned(q, b.qs + 16 * u);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int i = 0; i < 16; ++i) {
            w[i] = ds * float(iq4_reg(q[i] & 0xF));
            w[i + 16] = ds * float(iq4_reg(q[i] >> 4));
        }
    }
};

// Q4_K unit u = level bytes qs[16u..16u+16) (block bytes 16 + 16u, 16-byte aligned): with
// c = 2 (u / 2), byte i holds element 32c + 16 (u % 2) + i of sub-block c in its low nibble and
// the element 32 further, of sub-block c + 1, in its high nibble (DecQ4_K's layout).
struct UnitQ4_K {
    static constexpr int kQK = 256, kBytes = 144, kUnits = 8, kAlign = 16;
    QUANTA_HD static int lo(int u) { return 64 * (u >> 1) + 16 * (u & 1); }
    QUANTA_HD static int hi(int u) { return lo(u) + 32; }
    QUANTA_HD static void unit(const char * p, int u, float * w) {
        const BlockQ4_K & b = *reinterpret_cast<const BlockQ4_K *>(p);
        const float d = half_bits_to_float(b.d), dmin = half_bits_to_float(b.dmin);
        const int c = 2 * (u >> 1);
        int sc0, m0, sc1, m1;
        k4_scale_min(b.scales, c, &sc0, &m0);
        k4_scale_min(b.scales, c + 1, &sc1, &m1);
        const float dl0 = d * float(sc0), ml0 = dmin * float(m0);
        const float dl1 = d * float(sc1), ml1 = dmin * float(m1);
        alignas(16) uint8_t q[16];
        load16_aligned(q, b.qs + 16 * u);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int i = 0; i < 16; ++i) {
            w[i] = dl0 * float(q[i] & 0xF) - ml0;
            w[i + 16] = dl1 * float(q[i] >> 4) - ml1;
        }
    }
};

// QT3 unit u = sub-block u (elements 32u..32u+31, one scale): ql's group u / 2 (block bytes
// 16 + 16 (u / 2), one 128-bit load; lanes 2g and 2g + 1 load the same 16 bytes in the same warp
// instruction, one transaction, and take bits 0..3 / 4..7 of each byte) and qh's word u (block
// bytes 144 + 4u, one 32-bit load). A warp reads two whole blocks.
struct UnitQT3 {
    static constexpr int kQK = 512, kBytes = 208, kUnits = 16, kAlign = 16;
    QUANTA_HD static int lo(int u) { return 32 * u; }
    QUANTA_HD static int hi(int u) { return 32 * u + 16; }
    QUANTA_HD static void unit(const char * p, int u, float * w) { DecQT3::decode<true>(p, u, w); }
};

// QT2 unit u = elements 32u..32u+31 = sub-blocks 2u (w[0..16)) and 2u + 1 (w[16..32)): qs's group
// u / 2 (block bytes 32 + 16 (u / 2), one 128-bit load shared by lanes 2g and 2g + 1 as for QT3).
struct UnitQT2 {
    static constexpr int kQK = 512, kBytes = 160, kUnits = 16, kAlign = 16;
    QUANTA_HD static int lo(int u) { return 32 * u; }
    QUANTA_HD static int hi(int u) { return 32 * u + 16; }
    QUANTA_HD static void unit(const char * p, int u, float * w) { DecQT2::decode<true>(p, u, w); }
};

// Whole 2-byte-aligned block B of `Words` 16-bit words into registers (16-bit loads: the widest
// legal ones for 18- and 34-byte blocks in a packed row).
template <typename B, int Words>
struct BlockWords {
    static_assert(sizeof(B) == 2 * Words);
    uint16_t v[Words];
    QUANTA_HD explicit BlockWords(const char * p) {
        const uint16_t * s = reinterpret_cast<const uint16_t *>(p);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int i = 0; i < Words; ++i) v[i] = s[i];
    }
    QUANTA_HD const B & block() const { return *reinterpret_cast<const B *>(v); }
};

// Q4_0: the whole 18-byte block is the unit (element j < 16 low nibble of qs[j], j >= 16 high).
struct UnitQ4_0 {
    static constexpr int kQK = 32, kBytes = 18, kUnits = 1, kAlign = 2;
    QUANTA_HD static int lo(int) { return 0; }
    QUANTA_HD static int hi(int) { return 16; }
    QUANTA_HD static void unit(const char * p, int, float * w) {
        const BlockWords<BlockQ4_0, 9> words(p);
        const BlockQ4_0 & b = words.block();
        const float d = half_bits_to_float(b.d);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int j = 0; j < 32; ++j) w[j] = d * float(q4_nibble(b.qs, j) - 8);
    }
};

// Q8_0: the whole 34-byte block is the unit.
struct UnitQ8_0 {
    static constexpr int kQK = 32, kBytes = 34, kUnits = 1, kAlign = 2;
    QUANTA_HD static int lo(int) { return 0; }
    QUANTA_HD static int hi(int) { return 16; }
    QUANTA_HD static void unit(const char * p, int, float * w) {
        const BlockWords<BlockQ8_0, 17> words(p);
        const BlockQ8_0 & b = words.block();
        const float d = half_bits_to_float(b.d);
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
        for (int j = 0; j < 32; ++j) w[j] = d * float(b.qs[j]);
    }
};

// Float element types, element-addressable (any K).
struct ElemF32 {
    QUANTA_HD static float load(const char * p) { return *reinterpret_cast<const float *>(p); }
};
struct ElemF16 {
    QUANTA_HD static float load(const char * p) { return half_bits_to_float(*reinterpret_cast<const uint16_t *>(p)); }
};
struct ElemBF16 {
    QUANTA_HD static float load(const char * p) { return quant::bf16_to_fp32(*reinterpret_cast<const uint16_t *>(p)); }
};

}  // namespace quanta::backends::cuda
