// backends/cpu/kernels_matmul.cpp — mul_mat (weights of any type x f32/f16 activations) and
// get_rows (embedding lookup from any table type).
//
// mul_mat in two phases. (1) Each activation row is converted once to the weight type's dot_with
// type (Q8_0, Q8_1, Q8_K or F32) into shared scratch, rows split across threads; then a barrier.
// (2) The output [N, M, B2, B3] is cut into tiles of kTileN weight rows x kTileM activation rows.
// A thread takes a contiguous run of tiles ordered batch, activation block, weight block, so the
// activation tile (64 rows: ~140 KB in Q8_0 for k = 2048) stays in L2 while weight rows stream
// past it, and each weight row is read from memory once per activation block and then reused
// from L1 for 64 dot products (4 tokens per call where quant has a multi-row dot). Mat-vec (M = 1)
// degenerates to weight rows split across threads, each run of rows in one call where quant has a
// mat-vec kernel (quant::mat_vec's kernel: the activation row's loads and preparation shared).
// Threads take runs of tiles from a shared counter (guided: each run a share of what is left), not
// fixed equal shares: on a loaded machine a descheduled thread would otherwise hold up the whole node, and a
// tile's arithmetic does not depend on which thread computes it, so the bits stay the same.
// GQA: activation batch i2 uses weight batch i2 / (B2 / b2).
// 16-bit activations (MulMatParams::act_bits 16, `--act-bits 16`): each activation row becomes two
// consecutive dot_with rows, hi = q(x) and lo = q((x - deq(hi)) * 2^8), and a dot is
// dot(w, hi) + dot(w, lo) * 2^-8. The residual is at most half a step of hi, so lo re-spends the
// full 8 bits of each block on it: ~15 bits per value with the same quantizer and SIMD dots, no
// per-type code. The 2^8 keeps lo's values in hi's range (an fp16 block scale of a tiny residual
// would be subnormal); a power of two, so the rescale is exact. Laid out as consecutive rows, a
// multi-row dot decodes each weight block once for hi and lo (2 tokens per call instead of 4).
// Types whose dot_with is F32 are unaffected.
// Diagnostic (accuracy studies, bench/RESULTS.md): QUANTA_F32_DOT=q5_0,q8_0,... makes weights of
// those types keep f32 activations (each weight row decoded to f32, f32 dot) instead of the
// quantized dot_with activations, so the error of activation quantization can be measured per type.
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>

#include "backends/cpu/kernels.h"
#include "backends/cpu/row_codec.h"
#include "backends/cpu/vec.h"
#include "quant/dispatch.h"

namespace quanta::backends::cpu {

namespace {

using core::Op;

constexpr int64_t kTileN = 16;
constexpr int64_t kTileM = 64;

size_t align64(size_t x) { return (x + 63) / 64 * 64; }

// Weight types named in QUANTA_F32_DOT (read once).
bool f32_dot_forced(Type t) {
    static const std::set<std::string> names = [] {
        std::set<std::string> out;
        const char * env = std::getenv("QUANTA_F32_DOT");
        std::string cur;
        for (const char * p = env ? env : ""; ; ++p) {
            if (*p == ',' || *p == '\0') {
                if (!cur.empty()) out.insert(cur);
                cur.clear();
                if (*p == '\0') break;
            } else {
                cur += char(std::tolower(static_cast<unsigned char>(*p)));
            }
        }
        return out;
    }();
    if (names.empty()) return false;
    std::string n = quant::traits(t).name;
    for (char & ch : n) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    return names.count(n) != 0;
}

bool forced_f32(const BoundNode & n) { return n.src[1].type == Type::F32 && f32_dot_forced(n.src[0].type); }

bool needs_conversion(const BoundNode & n, const RowCodec & c) {
    return !(n.src[1].type == Type::F32 && (c.dot_with == Type::F32 || forced_f32(n)));
}

// dot_with rows per activation row: 2 (hi, lo) for 16-bit activations of a quantized dot_with, else 1.
int64_t act_split(const BoundNode & n, const RowCodec & c) {
    const bool split = n.node->params<core::MulMatParams>().act_bits == 16 && c.dot_with != Type::F32 && !forced_f32(n);
    return split ? 2 : 1;
}
constexpr float kLoScale = 256.0f;           // lo = q(residual * kLoScale)
constexpr float kLoUnscale = 1.0f / kLoScale;  // exact: a power of two

// F16 weights against many tokens: a weight row is widened to f32 once per tile and reused for
// kTileM f32 dots, instead of converting it again inside every dot. (Also any weight type under
// QUANTA_F32_DOT.)
bool widen_f16(const BoundNode & n) { return (n.src[0].type == Type::F16 && n.src[1].ne[1] > 1) || forced_f32(n); }

// Layout: [tile counter, 64 bytes][activation rows in dot_with][per-thread f32 row: F16
// activations][per-thread f32 row: widened F16 weights].
constexpr size_t kCounterBytes = 64;
static_assert(sizeof(std::atomic<int64_t>) <= kCounterBytes);

size_t act_bytes(const BoundNode & n, const RowCodec & c) {
    return needs_conversion(n, c)
               ? align64(size_t(n.src[1].nrows() * act_split(n, c)) * core::type_row_bytes(c.dot_with, n.src[1].ne[0]))
               : 0;
}

size_t w_mul_mat(const BoundNode & n, int nth) {
    const RowCodec & c = *row_codec(n.src[0].type);
    const size_t row = align64(size_t(n.src[1].ne[0]) * sizeof(float));
    return kCounterBytes + act_bytes(n, c) + size_t(nth) * row * 2;
}

void k_mul_mat(const BoundNode & n, const KernelCtx & ctx) {
    const BoundTensor & w = n.src[0];
    const BoundTensor & x = n.src[1];
    const BoundTensor & d = n.dst;
    const RowCodec & c = *row_codec(w.type);
    const int64_t K = x.ne[0], N = w.ne[1], M = x.ne[1], B2 = x.ne[2], B3 = x.ne[3];
    const bool convert = needs_conversion(n, c);
    const size_t arb = core::type_row_bytes(c.dot_with, K);
    const int64_t split = act_split(n, c);  // dot_with rows per activation row (hi, lo)
    const size_t tok_bytes = size_t(split) * arb;
    auto * next_tile = reinterpret_cast<std::atomic<int64_t> *>(ctx.work);
    char * act = ctx.work + kCounterBytes;
    char * per_thread = act + act_bytes(n, c);
    // Every thread has finished the previous node (the backend puts a barrier between nodes), so
    // thread 0 may reset the counter; the barrier below publishes it before anyone takes a tile.
    // Without a conversion phase there is no barrier to publish it: fixed shares instead.
    const bool dynamic = convert && ctx.nth > 1;
    if (dynamic && ctx.ith == 0) new (next_tile) std::atomic<int64_t>(0);

    if (convert) {
        float * tmp = reinterpret_cast<float *>(per_thread + size_t(ctx.ith) * 2 * align64(size_t(K) * sizeof(float)));
        // The second per-thread row (widened weights, used only after the barrier) holds the residual.
        float * resid = tmp + align64(size_t(K) * sizeof(float)) / sizeof(float);
        const RowCodec * hi_codec = split == 2 ? row_codec(c.dot_with) : nullptr;
        for_each_row(x, ctx, [&](int64_t r, int64_t i1, int64_t i2, int64_t i3) {
            const char * src = row_ptr(x, i1, i2, i3);
            const float * f = reinterpret_cast<const float *>(src);
            if (x.type == Type::F16) {
                vec().f16_to_f32(reinterpret_cast<const uint16_t *>(src), tmp, K);
                f = tmp;
            }
            char * dst = act + size_t(r) * tok_bytes;
            if (c.dot_with == Type::F32) std::memcpy(dst, f, size_t(K) * sizeof(float));
            else c.quantize_dot_with(f, dst, K, nullptr);
            if (split == 2) {
                hi_codec->to_f32(dst, resid, K);
                for (int64_t i = 0; i < K; ++i) resid[i] = (f[i] - resid[i]) * kLoScale;
                c.quantize_dot_with(resid, dst + arb, K, nullptr);
            }
        });
        ctx.barrier();
    }

    const int64_t tiles_n = (N + kTileN - 1) / kTileN;
    const int64_t tiles_m = (M + kTileM - 1) / kTileM;
    const int64_t r2 = B2 / w.ne[2], r3 = B3 / w.ne[3];
    const bool widen = widen_f16(n);
    float * wide = reinterpret_cast<float *>(per_thread + (size_t(ctx.ith) * 2 + 1) * align64(size_t(K) * sizeof(float)));
    const VecOps & vo = vec();
    auto tile_run = [&](int64_t t_begin, int64_t t_end) {
        for (int64_t t = t_begin; t < t_end; ++t) {
            const int64_t tn = t % tiles_n;
            const int64_t tm = (t / tiles_n) % tiles_m;
            const int64_t b = t / (tiles_n * tiles_m);
            const int64_t i2 = b % B2, i3 = b / B2;
            const char * wbase = w.host<char>() + (i2 / r2) * w.nb[2] + (i3 / r3) * w.nb[3];
            const int64_t n_end = std::min(N, (tn + 1) * kTileN), m_end = std::min(M, (tm + 1) * kTileM);
            if (convert && split == 1 && !widen && c.dot_wrows && m_end - tm * kTileM == 1) {
                // Decode (one activation row): quant's mat-vec kernel takes all the weight rows of
                // this run's consecutive tiles of the batch in one call (quant::mat_vec's contract),
                // so what it prepares from the activation is prepared once for them.
                const int64_t t_last = std::min(t_end, (t / tiles_n + 1) * tiles_n) - 1;  // same batch row
                const int64_t in0 = tn * kTileN, in1 = std::min(N, (t_last % tiles_n + 1) * kTileN);
                const int64_t im = tm * kTileM;
                const char * arow = act + size_t(((i3 * B2 + i2) * M + im)) * tok_bytes;
                char * obase = d.host<char>() + im * d.nb[1] + i2 * d.nb[2] + i3 * d.nb[3];
                if (d.nb[0] == sizeof(float)) {
                    c.dot_wrows(wbase + in0 * w.nb[1], size_t(w.nb[1]), in1 - in0, arow, reinterpret_cast<float *>(obase) + in0, K);
                } else {
                    float res[kTileN];
                    for (int64_t in = in0; in < in1; in += kTileN) {
                        const int64_t cnt = std::min(kTileN, in1 - in);
                        c.dot_wrows(wbase + in * w.nb[1], size_t(w.nb[1]), cnt, arow, res, K);
                        for (int64_t r = 0; r < cnt; ++r) *reinterpret_cast<float *>(obase + (in + r) * d.nb[0]) = res[r];
                    }
                }
                t = t_last;
                continue;
            }
            for (int64_t in = tn * kTileN; in < n_end; ++in) {
                const char * wrow = wbase + in * w.nb[1];
                if (widen && w.type == Type::F16) vo.f16_to_f32(reinterpret_cast<const uint16_t *>(wrow), wide, K);
                else if (widen) c.to_f32(wrow, wide, K);
                int64_t im = tm * kTileM;
                if (convert && c.dot_rows) {
                    // Quantized activations of one batch are consecutive rows of arb bytes (hi, lo per
                    // token when split): one call decodes the weight row once for up to kMaxDotRows
                    // rows (same floats as dot).
                    const int64_t per_call = quant::kMaxDotRows / split;
                    float res[quant::kMaxDotRows];
                    for (; im < m_end; im += per_call) {
                        const int cnt = int(std::min<int64_t>(per_call, m_end - im));
                        c.dot_rows(wrow, act + size_t(((i3 * B2 + i2) * M + im)) * tok_bytes, arb, int(cnt * split), res, K);
                        for (int r = 0; r < cnt; ++r) {
                            *reinterpret_cast<float *>(d.host<char>() + in * d.nb[0] + (im + r) * d.nb[1] + i2 * d.nb[2] +
                                                       i3 * d.nb[3]) = split == 2 ? res[2 * r] + res[2 * r + 1] * kLoUnscale : res[r];
                        }
                    }
                }
                for (; im < m_end; ++im) {
                    const char * arow = convert ? act + size_t(((i3 * B2 + i2) * M + im)) * tok_bytes : row_ptr(x, im, i2, i3);
                    float * out = reinterpret_cast<float *>(d.host<char>() + in * d.nb[0] + im * d.nb[1] + i2 * d.nb[2] + i3 * d.nb[3]);
                    if (widen) *out = vo.dot_f32(wide, reinterpret_cast<const float *>(arow), K);
                    else if (split == 2) *out = c.dot(wrow, arow, K) + c.dot(wrow, arow + arb, K) * kLoUnscale;
                    else *out = c.dot(wrow, arow, K);
                }
            }
        }
    };
    const int64_t n_tiles = tiles_n * tiles_m * B2 * B3;
    int64_t t0 = 0, t1 = 0;
    if (!dynamic) split_range(n_tiles, ctx.ith, ctx.nth, t0, t1);
    for (;;) {
        if (dynamic) {
            // Guided: each run is 1/(2 nth) of the tiles left (at least one), so runs start long
            // (one mat-vec call each in decode) and end short: the threads finish within about a
            // tile of each other instead of a fixed run.
            t0 = next_tile->load(std::memory_order_relaxed);
            int64_t run = 0;
            do {
                if (t0 >= n_tiles) break;
                run = std::max<int64_t>(1, (n_tiles - t0) / (2 * int64_t(ctx.nth)));
            } while (!next_tile->compare_exchange_weak(t0, t0 + run, std::memory_order_relaxed));
            if (t0 >= n_tiles) break;
            t1 = std::min(n_tiles, t0 + run);
        }
        tile_run(t0, t1);
        if (!dynamic) break;
    }
}

void k_get_rows(const BoundNode & n, const KernelCtx & ctx) {
    const BoundTensor & table = n.src[0];
    const int32_t * ids = n.src[1].host<int32_t>();
    const BoundTensor & d = n.dst;
    const RowCodec & c = *row_codec(table.type);
    int64_t r0, r1;
    split_range(d.ne[1], ctx.ith, ctx.nth, r0, r1);
    for (int64_t r = r0; r < r1; ++r) {
        float * out = reinterpret_cast<float *>(d.host<char>() + r * d.nb[1]);
        const int64_t id = ids[r];
        if (!row_id_in_range(id, r, table.ne[1], "get_rows: id", ctx)) {
            std::memset(out, 0, size_t(d.ne[0]) * sizeof(float));
            continue;
        }
        c.to_f32(table.host<char>() + id * table.nb[1], out, d.ne[0]);
    }
}

}  // namespace

void register_matmul(KernelTable & t) {
    for (const quant::TypeTraits & tr : quant::all_types()) {
        if (tr.activation_only || !row_codec(tr.type)) continue;
        t.add(Op::MulMat, Type::F32, tr.type, Type::F32, k_mul_mat, w_mul_mat);
        t.add(Op::MulMat, Type::F32, tr.type, Type::F16, k_mul_mat, w_mul_mat);
        t.add(Op::GetRows, Type::F32, tr.type, core::kI32, k_get_rows);
    }
}

}  // namespace quanta::backends::cpu
