// backends/vulkan/ops_get_rows.cpp — get_rows on Vulkan for every weight type: table [n, n_rows]
// any type, ids I32 [k] -> F32 [n, k] (token embeddings). Shader: get_rows_<type>.comp = the
// decode of shaders/quant/<type>.glsl + the body shaders/get_rows.glsl (one workgroup per 256
// outputs of one row; QT4 un-rotates in shared memory), bit-exact with quant/'s dequantize_row.
//
// A table larger than one binding (Gemma 3's 262144 x 640 embedding in Q8_0 is ~178 MB; lavapipe
// binds at most 128 MiB) is bound as row ranges, one dispatch per range over all ids; each
// dispatch writes the output rows whose id falls in its range. Ids outside the table give a zero
// row and are reported through the data-error words (kernels.h): the run fails with
// "vulkan: get_rows: row id <id> at <index> is out of range [0, <n_rows>)", as on the CPU.
#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "backends/vulkan/kernels.h"
#include "backends/vulkan/ops_matmul.h"
#include "quant/types.h"

#define QUANTA_VK_ASSIGN(lhs, expr)                           \
    do {                                                      \
        auto quanta_vk_r_ = (expr);                           \
        if (!quanta_vk_r_.ok()) return quanta_vk_r_.status(); \
        lhs = std::move(*quanta_vk_r_);                       \
    } while (0)

namespace quanta::backends::vulkan {

namespace {

using core::Op;

// Mirrors the push constants of shaders/get_rows.glsl.
struct GetRowsPush {
    uint32_t ncols, t_off, t_nb1, row_begin, row_end, n_rows, ids_off, d_off, d_nb1, id_base, code;
};

constexpr int64_t kMaxGroups = 65535;

Status record_get_rows(const BoundNode & nd, Recorder & rec) {
    const BoundTensor & table = nd.src[0];
    const BoundTensor & ids = nd.src[1];
    const BoundTensor & d = nd.dst;
    const int64_t ncols = table.ne[0], n_rows = table.ne[1], n_ids = d.ne[1];
    if (d.nb[1] % 4 != 0) return Status::error("vulkan: get_rows: output rows must be whole floats apart");
    if (uint64_t(table.nb[1]) > UINT32_MAX) return Status::error("vulkan: get_rows: table row stride beyond 32 bits");

    std::string shader = "get_rows_" + std::string(quant::traits(table.type).name);
    for (char & c : shader) c = char(std::tolower(static_cast<unsigned char>(c)));
    Pipeline * pipe = nullptr;
    QUANTA_VK_ASSIGN(pipe, rec.pipeline(shader, 4, sizeof(GetRowsPush), {256}));
    View iv, dv, ev;
    QUANTA_VK_ASSIGN(iv, rec.read(ids, 4));
    QUANTA_VK_ASSIGN(dv, rec.write(d, 4));
    QUANTA_VK_ASSIGN(ev, rec.data_errors());

    const uint64_t row_bytes = core::type_row_bytes(table.type, ncols);
    const uint64_t limit = weight_binding_limit(rec.max_range());
    // A window starts at its first byte aligned down and is rounded up to 4 bytes.
    const uint64_t slack = std::max<uint64_t>(rec.device().limits().minStorageBufferOffsetAlignment, 4) + 4;
    int64_t per = n_rows;
    if (table.extent_bytes() + slack > limit) {
        per = limit < slack + row_bytes ? 0 : int64_t((limit - slack - row_bytes) / uint64_t(table.nb[1])) + 1;
        if (per <= 0) {
            return Status::error("vulkan: get_rows: one table row of " + std::to_string(row_bytes) +
                                 " bytes does not fit a binding of " + std::to_string(limit) + " bytes");
        }
    }
    GetRowsPush p{};
    p.ncols = uint32_t(ncols);
    p.t_nb1 = uint32_t(table.nb[1]);
    p.n_rows = uint32_t(n_rows);
    p.d_nb1 = uint32_t(d.nb[1] / 4);
    p.code = 1 + uint32_t(nd.node->op);
    const uint32_t gx = uint32_t((ncols + 255) / 256);
    for (int64_t r0 = 0; r0 < n_rows; r0 += per) {
        const int64_t rows = std::min(per, n_rows - r0);
        View tv;
        QUANTA_VK_ASSIGN(tv, rec.window(*table.buffer, table.offset + size_t(r0 * table.nb[1]),
                                        size_t(rows - 1) * size_t(table.nb[1]) + row_bytes, 1, false));
        p.t_off = tv.first;
        p.row_begin = uint32_t(r0);
        p.row_end = uint32_t(r0 + rows);
        for (int64_t i0 = 0; i0 < n_ids; i0 += kMaxGroups) {  // one workgroup row per id
            p.ids_off = iv.first + uint32_t(i0);
            p.id_base = uint32_t(i0);
            p.d_off = dv.first + uint32_t(i0) * p.d_nb1;
            QUANTA_TRY(rec.dispatch(*pipe, {tv, iv, dv, ev}, &p, gx, uint32_t(std::min(kMaxGroups, n_ids - i0))));
        }
    }
    return ok_status();
}

}  // namespace

void register_get_rows(KernelTable & t) {
    for (const quant::TypeTraits & tr : quant::all_types()) {
        if (tr.activation_only) continue;
        t.add(Op::GetRows, Type::F32, tr.type, core::kI32, record_get_rows);
    }
}

}  // namespace quanta::backends::vulkan

#undef QUANTA_VK_ASSIGN
