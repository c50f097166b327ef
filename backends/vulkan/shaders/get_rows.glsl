// shaders/get_rows.glsl — get_rows body: dst[:, r] = decode(table[:, ids[r]]) as f32. The
// wrapper get_rows_<type>.comp includes quant/<type>.glsl (binding 0 = the table) and then this.
//
// One workgroup of 256 invocations writes 256 consecutive elements of one output row
// (groups x = ceil(ncols / 256), y = output rows). A table larger than one storage-buffer binding
// (maxStorageBufferRange; Gemma 3's 262144-row embedding) is bound as row ranges, one dispatch per
// range over all ids: a dispatch writes only the rows whose id falls in its range. Ids outside the
// table give a zero row, written by the dispatch with row_begin == 0, which also reports the first
// such id in the data-error words (binding 3, backends/vulkan/kernels.h), so the run fails with
// the id, as the CPU kernel does.
// QT4 / QT3 / QT2 (QUANTA_ROTATED) decode in the rotated domain and un-rotates each 256 values in
// shared memory; its rows are a multiple of 512, so a workgroup is exactly one rotation block.
layout(local_size_x = 256) in;

layout(std430, binding = 1) readonly buffer Ids { int ids[]; };
layout(std430, binding = 2) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 3) buffer Err { uint err[]; };

layout(push_constant) uniform Params {
    uint ncols;      // elements per row
    uint t_off;      // byte offset of table row row_begin in binding 0
    uint t_nb1;      // bytes between table rows
    uint row_begin;  // table rows [row_begin, row_end) are in this binding
    uint row_end;
    uint n_rows;     // rows of the whole table
    uint ids_off;    // first id (elements of binding 1)
    uint d_off;      // first output element (floats of binding 2)
    uint d_nb1;      // floats between output rows
    uint id_base;    // index in the ids tensor of ids[ids_off] (for the error report)
    uint code;       // data-error code of this node (1 + the op's enum value)
} p;

#ifdef QUANTA_ROTATED
#include "quant/rotate.glsl"
#endif

void main() {
    const uint t = gl_LocalInvocationID.x;
    const uint r = gl_WorkGroupID.y;
    const uint c = gl_WorkGroupID.x * 256u + t;
    const int id = ids[p.ids_off + r];
    const bool in_table = id >= 0 && uint(id) < p.n_rows;
    // Uniform over the workgroup (one id per group), so the early return keeps barriers uniform.
    if (in_table && (uint(id) < p.row_begin || uint(id) >= p.row_end)) return;
    if (!in_table && p.row_begin != 0u) return;
    if (!in_table && t == 0u && gl_WorkGroupID.x == 0u && atomicCompSwap(err[0], 0u, p.code) == 0u) {
        err[1] = uint(id);
        err[2] = p.id_base + r;
        err[3] = p.n_rows;
    }
    float v = 0.0;
    if (in_table && c < p.ncols) v = dq(p.t_off + (uint(id) - p.row_begin) * p.t_nb1 + (c / QK) * QB, c % QK);
#ifdef QUANTA_ROTATED
    if (in_table) v = unrotate_256(v, t);  // uniform branch; keeps +0 (not -0) in zero rows
#endif
    if (c < p.ncols) dst[p.d_off + r * p.d_nb1 + c] = v;
}
