// backends/vulkan/ops_matmul.cpp — mul_mat on Vulkan for every weight type of quant/types.def
// (w [k, n, b2, b3] any type x x [k, m, B2, B3] F32 or F16 -> F32 [n, m, B2, B3], GQA broadcast;
// F16 activations, read as halves by the same shaders (specialization constant 3), for every type
// but the rotated QT4/QT3/QT2, whose rotation kernel takes F32).
//
// Two shader families, one tiny wrapper .comp per weight type over a shared body, with the
// per-block decode of shaders/quant/<type>.glsl (a mirror of quant/'s scalar reference):
//   * mul_mat_vec_<type> (m <= 8: decode). A workgroup computes a few weight rows for all m
//     tokens; each weight element is decoded once per workgroup and dotted with every token;
//     reduction with subgroupAdd where the device has subgroup arithmetic (mul_mat_vec_sg_<type>),
//     else a shared-memory tree. Workgroup size, rows per workgroup and variant are the device's
//     KernelShapes (tuning.h), passed as specialization constants. m > 8 would re-decode the
//     weights per 8 tokens, so:
//   * mul_mat_mm_<type> (m > 8: prompts). 64 x 64 output tiles; weights decoded into shared memory
//     once per 64 tokens (shaders/mul_mat_mm.glsl). mul_mat_mm16_<type>, where the device has
//     shaderFloat16 (KernelShapes::mm_f16): the same with f16 tiles and f16 pair dots.
// quanta's rotated formats QT4 / QT3 / QT2 store R w (quant/qt4.h); w . a = (R w) . (R a), so the
// activations are first rotated into a per-run scratch buffer (mul_mat_rotate.comp, 256 per
// workgroup in shared memory), then the same two kernels run on R a.
// Arithmetic: weights decoded to f32, f32 activations, f32 accumulation — no activation
// quantization, unlike the CPU backend (which quantizes activations to 8 bits for most types).
//
// Large tensors: a weight matrix whose bytes exceed one binding (maxStorageBufferRange, 128 MiB on
// lavapipe; Gemma 3's 262144-row output projection) is split by row ranges into several dispatches
// of the same command buffer, each binding the window that starts at its first row (the shaders
// take a byte offset into binding 0). Activations and outputs too large for one binding are split
// by token ranges when the matmul is 2-D. Batched weights too large for one binding are split per
// activation batch, then by rows.
#include "backends/vulkan/ops_matmul.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "backends/vulkan/kernels.h"
#include "quant/types.h"

// lhs = value of a Result, or return its Status.
#define QUANTA_VK_ASSIGN(lhs, expr)                  \
    do {                                             \
        auto quanta_vk_r_ = (expr);                  \
        if (!quanta_vk_r_.ok()) return quanta_vk_r_.status(); \
        lhs = std::move(*quanta_vk_r_);              \
    } while (0)

namespace quanta::backends::vulkan {

namespace {

using core::Op;

// Mirrors shaders/mul_mat_params.glsl.
struct MulMatPush {
    uint32_t k, n, m, row0, w_off, w_nb1, w_nb2, w_nb3, r2, r3;
    uint32_t x_off, x_nb1, x_nb2, x_nb3, d_off, d_nb1, d_nb2, d_nb3, b2, batch0;
};
static_assert(sizeof(MulMatPush) == 80);

constexpr int64_t kVecMaxM = 8;     // MAX_M of mul_mat_vec.glsl
constexpr int64_t kTile = 64;       // BN = BM of mul_mat_mm.glsl
constexpr uint64_t kMaxGroups = 65535;

uint64_t g_weight_binding_limit = 0;

bool rotated(Type t) { return t == Type::QT4 || t == Type::QT3 || t == Type::QT2; }

// A window starts at its first byte aligned down to minStorageBufferOffsetAlignment and is rounded
// up to 4 bytes: the slack to keep under a binding limit.
uint64_t window_slack(Recorder & rec) {
    return std::max<uint64_t>(rec.device().limits().minStorageBufferOffsetAlignment, 4) + 4;
}

std::string type_suffix(Type t) {
    std::string s = quant::traits(t).name;
    for (char & c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

uint64_t binding_limit(const Recorder & rec) { return weight_binding_limit(rec.max_range()); }

// Bytes spanned by `rows` rows of `row_bytes` each, `stride` apart.
uint64_t span_bytes(int64_t rows, uint64_t stride, uint64_t row_bytes) {
    return rows <= 0 ? 0 : uint64_t(rows - 1) * stride + row_bytes;
}

// Rows of `stride` bytes (each row_bytes long) that fit one binding of `limit` bytes.
int64_t rows_per_binding(uint64_t limit, uint64_t slack, uint64_t stride, uint64_t row_bytes) {
    if (limit < slack + row_bytes) return 0;
    return stride == 0 ? INT64_MAX : int64_t((limit - slack - row_bytes) / stride) + 1;
}

Status fits_u32(uint64_t v, const char * what) {
    if (v > UINT32_MAX) {
        return Status::error(std::string("vulkan: mul_mat: ") + what + " of " + std::to_string(v) +
                             " does not fit the shader's 32-bit offsets");
    }
    return ok_status();
}

// One token range [m0, m1) of a 2-D mul_mat (or every token of a batched one, m0 = 0, m1 = M).
Status record_tokens(const BoundNode & nd, Recorder & rec, int64_t m0, int64_t m1, bool whole_x) {
    const BoundTensor & w = nd.src[0];
    const BoundTensor & x = nd.src[1];
    const BoundTensor & d = nd.dst;
    const Type type = w.type;
    const int64_t K = x.ne[0], N = w.ne[1], B2 = x.ne[2], B3 = x.ne[3];
    const int64_t M = m1 - m0;
    const uint64_t limit = binding_limit(rec);
    const uint64_t w_row_bytes = core::type_row_bytes(type, K);
    const uint32_t xu = x.type == Type::F16 ? 2 : 4;  // bytes per activation element

    View xv, dv;
    if (whole_x) {
        QUANTA_VK_ASSIGN(xv, rec.read(x, xu));
        QUANTA_VK_ASSIGN(dv, rec.write(d, 4));
    } else {
        QUANTA_VK_ASSIGN(xv, rec.window(*x.buffer, x.offset + size_t(m0 * x.nb[1]),
                                               span_bytes(M, uint64_t(x.nb[1]), uint64_t(K) * xu), xu, false));
        QUANTA_VK_ASSIGN(dv, rec.window(*d.buffer, d.offset + size_t(m0 * d.nb[1]),
                                               span_bytes(M, uint64_t(d.nb[1]), uint64_t(N) * 4), 4, true));
    }

    const bool vec = M <= kVecMaxM;
    const MatVecShape & vs = rec.device().shapes().vec;
    const bool f16_tiles = rec.device().shapes().mm_f16;
    const std::string shader =
        (vec ? (vs.subgroup ? "mul_mat_vec_sg_" : "mul_mat_vec_") : f16_tiles ? "mul_mat_mm16_" : "mul_mat_mm_") +
        type_suffix(type);
    const int64_t vec_rows = vs.rows;
    const uint32_t x_f16 = x.type == Type::F16 ? 1 : 0;  // X_F16 of mul_mat_params.glsl
    Pipeline * pipe = nullptr;
    if (vec) {
        QUANTA_VK_ASSIGN(pipe, rec.pipeline(shader, 3, sizeof(MulMatPush),
                                            {vs.wg, vs.rows, vs.partials(rec.device().info().features), x_f16}));
    } else {  // constants 1 and 2 are not in mul_mat_mm.glsl (ignored)
        QUANTA_VK_ASSIGN(pipe, rec.pipeline(shader, 3, sizeof(MulMatPush), {256, 0, 0, x_f16}));
    }

    MulMatPush p{};
    p.k = uint32_t(K);
    p.r2 = uint32_t(B2 / w.ne[2]);
    p.r3 = uint32_t(B3 / w.ne[3]);
    p.x_nb1 = uint32_t(x.nb[1] / xu);
    p.x_nb2 = uint32_t(x.nb[2] / xu);
    p.x_nb3 = uint32_t(x.nb[3] / xu);
    p.d_nb1 = uint32_t(d.nb[1] / 4);
    p.d_nb2 = uint32_t(d.nb[2] / 4);
    p.d_nb3 = uint32_t(d.nb[3] / 4);
    p.b2 = uint32_t(B2);
    p.w_nb1 = uint32_t(w.nb[1]);
    if (rotated(type)) {
        QUANTA_CHECK(x_f16 == 0);  // not registered (register_matmul)
        // R a into scratch [K, M * B2 * B3] (packed), which the matmul then reads as x.
        const int64_t rows = M * B2 * B3;
        View sv;
        QUANTA_VK_ASSIGN(sv, rec.scratch(size_t(K * rows) * 4));
        struct {
            uint32_t k, rows, m, b2, x_off, x_nb1, x_nb2, x_nb3, y_off;
        } rp{uint32_t(K), uint32_t(rows), uint32_t(M), uint32_t(B2), xv.first, p.x_nb1, p.x_nb2, p.x_nb3, sv.first};
        Pipeline * rot = nullptr;
        QUANTA_VK_ASSIGN(rot, rec.pipeline("mul_mat_rotate", 2, sizeof(rp), {256}));
        uint32_t gx = 1, gy = 1;
        rec.grid_for(uint64_t(K / 256) * uint64_t(rows), gx, gy);
        QUANTA_TRY(rec.dispatch(*rot, {xv, sv}, &rp, gx, gy));
        xv = sv;
        xv.write = false;
        p.x_nb1 = uint32_t(K);
        p.x_nb2 = uint32_t(K * M);
        p.x_nb3 = uint32_t(K * M * B2);
    }

    // One dispatch: weight rows [r0, r0 + rows) through the weight window wv, x batches
    // [batch0, batch0 + nb), in kernel-sized token chunks.
    auto dispatch = [&](const View & wv, int64_t r0, int64_t rows, int64_t batch0, int64_t nb) -> Status {
        p.n = uint32_t(rows);
        p.row0 = uint32_t(r0);
        p.w_off = wv.first;
        p.batch0 = uint32_t(batch0);
        if (!vec) {
            p.m = uint32_t(M);
            p.x_off = xv.first;
            p.d_off = dv.first;
            return rec.dispatch(*pipe, {wv, xv, dv}, &p, uint32_t((rows + kTile - 1) / kTile),
                                uint32_t((M + kTile - 1) / kTile), uint32_t(nb));
        }
        for (int64_t j = 0; j < M; j += kVecMaxM) {
            p.m = uint32_t(std::min<int64_t>(kVecMaxM, M - j));
            p.x_off = xv.first + uint32_t(j) * p.x_nb1;
            p.d_off = dv.first + uint32_t(j) * p.d_nb1;
            QUANTA_TRY(rec.dispatch(*pipe, {wv, xv, dv}, &p, uint32_t((rows + vec_rows - 1) / vec_rows), 1,
                                    uint32_t(nb)));
        }
        return ok_status();
    };
    const int64_t max_rows_grid = int64_t(kMaxGroups) * (vec ? vec_rows : kTile);

    const size_t w_extent = w.extent_bytes();
    if (w_extent + window_slack(rec) <= limit && N <= max_rows_grid) {
        View wv;
        QUANTA_VK_ASSIGN(wv, rec.window(*w.buffer, w.offset, w_extent, 1, false));
        p.w_nb2 = uint32_t(w.nb[2]);
        p.w_nb3 = uint32_t(w.nb[3]);
        return dispatch(wv, 0, N, 0, B2 * B3);
    }
    // Split: per x batch (a weight batch is not contiguous with its neighbours' rows in general),
    // then by weight rows.
    const int64_t per = std::min(rows_per_binding(limit, window_slack(rec), uint64_t(w.nb[1]), w_row_bytes), max_rows_grid);
    if (per <= 0) {
        return Status::error("vulkan: mul_mat: one weight row of " + std::to_string(w_row_bytes) +
                             " bytes does not fit a binding of " + std::to_string(limit) + " bytes");
    }
    p.w_nb2 = 0;
    p.w_nb3 = 0;
    for (int64_t b = 0; b < B2 * B3; ++b) {
        const int64_t i2 = b % B2, i3 = b / B2;
        const size_t slice = w.offset + size_t((i2 / p.r2) * w.nb[2] + (i3 / p.r3) * w.nb[3]);
        for (int64_t r0 = 0; r0 < N; r0 += per) {
            const int64_t rows = std::min(per, N - r0);
            View wv;
            QUANTA_VK_ASSIGN(wv, rec.window(*w.buffer, slice + size_t(r0 * w.nb[1]),
                                                   span_bytes(rows, uint64_t(w.nb[1]), w_row_bytes), 1, false));
            QUANTA_TRY(dispatch(wv, r0, rows, b, 1));
        }
    }
    return ok_status();
}

Status record_mul_mat(const BoundNode & nd, Recorder & rec) {
    const BoundTensor & w = nd.src[0];
    const BoundTensor & x = nd.src[1];
    const BoundTensor & d = nd.dst;
    const int64_t K = x.ne[0], N = w.ne[1], M = x.ne[1];
    const uint64_t xu = x.type == Type::F16 ? 2 : 4;
    for (int i = 1; i < core::kMaxDims; ++i) {
        if (x.nb[size_t(i)] % int64_t(xu) != 0 || d.nb[size_t(i)] % 4 != 0) {
            return Status::error("vulkan: mul_mat: activation/output strides must be whole elements");
        }
    }
    QUANTA_TRY(fits_u32(uint64_t(w.nb[1]), "weight row stride"));
    QUANTA_TRY(fits_u32(uint64_t(M) * uint64_t(x.nb[1]) / xu, "activation extent (elements)"));
    QUANTA_TRY(fits_u32(uint64_t(M) * uint64_t(d.nb[1]) / 4, "output extent (floats)"));
    const bool batched = x.ne[2] * x.ne[3] > 1;
    const uint64_t limit = binding_limit(rec);
    const uint64_t x_bytes = x.extent_bytes(), d_bytes = d.extent_bytes();
    const uint64_t slack = window_slack(rec);
    if (batched || (x_bytes + slack <= limit && d_bytes + slack <= limit)) {
        return record_tokens(nd, rec, 0, M, true);
    }
    // 2-D with activations or outputs (the logits of a long prompt) beyond one binding: token ranges.
    const int64_t per = std::min(rows_per_binding(limit, slack, uint64_t(x.nb[1]), uint64_t(K) * xu),
                                 rows_per_binding(limit, slack, uint64_t(d.nb[1]), uint64_t(N) * 4));
    if (per <= 0) return Status::error("vulkan: mul_mat: one activation or output row does not fit a binding");
    for (int64_t m0 = 0; m0 < M; m0 += per) QUANTA_TRY(record_tokens(nd, rec, m0, std::min(M, m0 + per), false));
    return ok_status();
}

}  // namespace

bool has_subgroup_arithmetic(const Device & device) { return device.info().features.subgroup_arithmetic; }

void set_weight_binding_limit(uint64_t bytes) { g_weight_binding_limit = bytes; }

uint64_t weight_binding_limit(uint64_t device_range) {
    return g_weight_binding_limit ? std::min(g_weight_binding_limit, device_range) : device_range;
}

void register_matmul(KernelTable & t) {
    for (const quant::TypeTraits & tr : quant::all_types()) {
        if (tr.activation_only) continue;
        t.add(Op::MulMat, Type::F32, tr.type, Type::F32, record_mul_mat);
        if (!rotated(tr.type)) t.add(Op::MulMat, Type::F32, tr.type, Type::F16, record_mul_mat);
    }
}

}  // namespace quanta::backends::vulkan

#undef QUANTA_VK_ASSIGN
