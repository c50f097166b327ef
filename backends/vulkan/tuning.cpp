// backends/vulkan/tuning.cpp — per-device kernel shapes (tuning.h).
//
// Mat-vec defaults. The kernel reads each weight word once and each activation word once per
// workgroup; per workgroup it pays a fixed cost: the reduction of rows x m partial sums across
// the workgroup (and a barrier when the workgroup holds several subgroups).
//  * GPUs: 64 invocations (two 32-wide subgroups; one 64-wide AMD wave) x 4 rows. Gemma 3 270M's
//    smallest matrices (640 rows) still give 160 workgroups; the activations are re-read once per
//    4 rows instead of per row. Unmeasured on a GPU so far (bench/RESULTS.md).
//  * CPU devices (lavapipe): one subgroup per workgroup (8 invocations on llvmpipe) x 8 rows:
//    llvmpipe runs a workgroup's subgroups as coroutines that switch at every barrier, so a
//    workgroup without barriers and with many rows is what costs least there (measured: RESULTS).
// Mat-mat: f16 tiles and f16 pair dots wherever shaderFloat16 is there (half the shared memory,
// packed f16 math); QUANTA_VK_F16=0 keeps f32 tiles (exact f32 products) on such devices.
#include "backends/vulkan/tuning.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace quanta::backends::vulkan {

namespace {

bool pow2(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

Status parse_matvec(const char * s, MatVecShape & out, bool subgroup_ok) {
    unsigned wg = 0, rows = 0;
    char tail[16] = {0};
    const int got = std::sscanf(s, "%ux%u%15s", &wg, &rows, tail);
    const bool shared = got == 3 && std::strcmp(tail, ",shared") == 0;
    if (got < 2 || (got == 3 && !shared)) {
        return Status::error(std::string("vulkan: QUANTA_VK_MATVEC='") + s +
                             "' is not <workgroup>x<rows>[,shared] (e.g. 64x4 or 32x2,shared)");
    }
    out.wg = wg;
    out.rows = rows;
    out.subgroup = subgroup_ok && !shared;
    return ok_status();
}

}  // namespace

uint32_t MatVecShape::partials(const DeviceFeatures & f) const {
    if (!subgroup) return wg;
    const uint32_t sg = std::max<uint32_t>(f.subgroup_size, 1);
    return std::max<uint32_t>(wg / sg, 1);
}

Status check_shapes(const KernelShapes & s, const DeviceFeatures & f) {
    const MatVecShape & v = s.vec;
    const std::string what = "vulkan: mat-vec shape " + std::to_string(v.wg) + "x" + std::to_string(v.rows);
    if (!pow2(v.wg) || v.wg < 8 || v.wg > 256) return Status::error(what + ": the workgroup must be a power of two in [8, 256]");
    if (v.rows < 1 || v.rows > 8) return Status::error(what + ": rows per workgroup must be in [1, 8]");
    if (f.max_workgroup_invocations && v.wg > f.max_workgroup_invocations) {
        return Status::error(what + ": the device allows at most " + std::to_string(f.max_workgroup_invocations) +
                             " invocations per workgroup");
    }
    if (v.subgroup && !f.subgroup_arithmetic) return Status::error(what + ": the device has no subgroup arithmetic");
    if (f.max_shared_memory && v.shared_bytes(f) > f.max_shared_memory) {
        return Status::error(what + ": needs " + std::to_string(v.shared_bytes(f)) + " bytes of shared memory, the device has " +
                             std::to_string(f.max_shared_memory) + " (fewer rows or a smaller workgroup)");
    }
    if (s.mm_f16 && !f.float16) return Status::error("vulkan: f16 mat-mat tiles need shaderFloat16, which the device lacks");
    return ok_status();
}

Result<KernelShapes> choose_shapes(const DeviceFeatures & f, const std::string & device_type) {
    KernelShapes s;
    s.vec.subgroup = f.subgroup_arithmetic;
    if (device_type == "cpu" && f.subgroup_arithmetic && pow2(f.subgroup_size) && f.subgroup_size >= 8) {
        s.vec.wg = std::min<uint32_t>(f.subgroup_size, 256);
        s.vec.rows = 8;
    } else {
        s.vec.wg = 64;
        s.vec.rows = 4;
    }
    if (f.max_workgroup_invocations) {
        while (s.vec.wg > 8 && s.vec.wg > f.max_workgroup_invocations) s.vec.wg /= 2;
    }
    while (s.vec.rows > 1 && f.max_shared_memory && s.vec.shared_bytes(f) > f.max_shared_memory) s.vec.rows /= 2;
    s.mm_f16 = f.float16;

    if (const char * env = std::getenv("QUANTA_VK_MATVEC"); env && *env) {
        QUANTA_TRY(parse_matvec(env, s.vec, f.subgroup_arithmetic));
    }
    if (const char * env = std::getenv("QUANTA_VK_F16"); env && *env) {
        if (std::strcmp(env, "0") == 0) {
            s.mm_f16 = false;
        } else if (std::strcmp(env, "1") != 0) {
            return Status::error(std::string("vulkan: QUANTA_VK_F16='") + env + "' must be 0 (f32 tiles) or 1");
        }
    }
    if (Status st = check_shapes(s, f); !st.ok()) {
        const char * mv = std::getenv("QUANTA_VK_MATVEC");
        const char * f16 = std::getenv("QUANTA_VK_F16");
        std::string set;
        if (mv && *mv) set += std::string(" QUANTA_VK_MATVEC=") + mv;
        if (f16 && *f16) set += std::string(" QUANTA_VK_F16=") + f16;
        return set.empty() ? st : Status::error(st.message() + " (set by" + set + ")");
    }
    return s;
}

std::string describe(const KernelShapes & s) {
    return "mat-vec " + std::to_string(s.vec.wg) + "x" + std::to_string(s.vec.rows) +
           (s.vec.subgroup ? " subgroupAdd" : " shared-tree") + ", mat-mat " + (s.mm_f16 ? "f16" : "f32") + " tiles";
}

}  // namespace quanta::backends::vulkan
