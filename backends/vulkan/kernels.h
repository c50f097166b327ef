// backends/vulkan/kernels.h — the Vulkan kernel table: (op, dst type, src0 type, src1 type) -> a
// function that RECORDS the node's dispatches into the command buffer of the current run.
//
// How a kernel records (the contract for every ops_*.cpp file):
//   * VkBackend::run() opens one command buffer per call (one graph segment, i.e. one decode step)
//     and calls each node's RecordFn in order with the same Recorder; the whole batch is submitted
//     once at the end of run(), with a fence; sync()/download() wait for it.
//   * A kernel asks the Recorder for one View per storage-buffer binding: rec.read(t) for a source,
//     rec.write(t) for the destination (rec.window(...) for an explicit byte range, rec.constants()
//     for small host tables of this run). A View is a descriptor window (buffer, offset aligned down
//     to minStorageBufferOffsetAlignment, range <= maxStorageBufferRange) plus `first`, the tensor's
//     first element inside that window in units of the shader array's element size (`unit` bytes:
//     4 for float/uint arrays, 2 for uint16_t, 1 for uint8_t). Shaders index x[first + i]; pass
//     `first` in the push constants.
//   * rec.pipeline(shader, n_buffers, push_bytes, {spec...}) gives the pipeline of
//     shaders/<shader>.comp; specialization constant 0 is the workgroup size (local_size_x_id = 0),
//     constants 1.. select variants (op, types, flags) so one .comp serves a family.
//   * rec.dispatch(pipeline, {views...}, &push, gx, gy, gz) allocates a descriptor set from this
//     run's pool (reset when the run's fence has signalled), binds views to bindings 0..n-1 in order,
//     pushes `push_bytes` of constants and records vkCmdDispatch. Group counts above the device
//     limit (65535 is the guaranteed minimum) must be folded into y by the kernel: use grid_for().
//   * Barriers are the Recorder's job: it remembers the byte ranges written and read since the last
//     barrier and records one compute->compute memory barrier before a dispatch that reads or
//     writes a range written earlier (or writes a range read earlier). Kernels never record
//     barriers; independent dispatches (the q/k/v matmuls of one layer) run without one.
//   * A kernel that cannot handle its node (a shape it does not support, a tensor too large for one
//     window) returns a Status naming the op, the shape and the limit; run() fails with it.
//
// Tensors larger than maxStorageBufferRange (128 MiB on lavapipe; e.g. a 262144-entry vocabulary
// in F16 or the logits of a long prompt): a View covers at most max_range() bytes, so read()/write()
// fail for a tensor whose extent does not fit. Such a kernel splits its work so each dispatch
// touches a part that fits, and binds each part with rec.window() (or sub-tensor views): row-wise
// ops split by rows (split_rows() below does it for same-shaped operands); mul_mat splits the
// weight matrix by row ranges, one dispatch per range, each binding the window that starts at the
// range's first row (aligned down) and passing the element offset of that row in the push constants.
//
// Data errors (a row id out of range in set_rows / get_rows): bind rec.data_errors() (uint[4],
// read-write) and, in the shader, `if (atomicCompSwap(err[0], 0u, code) == 0u) { err[1] = id;
// err[2] = index; err[3] = n_rows; }` with code = 1 + uint(core::Op) of the node (pass it in the
// push constants), then skip the row. After the run's fence the backend turns the first such
// report into "vulkan: <op>: row id <id> at <index> is out of range [0, <n_rows>)" and clears it.
//
// Types in shaders: F32 as float[]; F16 as uint[] words read with unpackHalf2x16 (works without
// 16-bit storage) or float16_t/uint16_t where features().storage16; Q8_0 blocks (34 bytes, 2-byte
// aligned) as uint16_t[] when storage16, else bytes extracted from uint[] words. Kernels that need
// a feature register only when the device has it (KernelTable::features()); the executor then runs
// that node on the CPU.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <unordered_map>
#include <vector>

#include "backends/vulkan/device.h"
#include "core/backend.h"
#include "core/kernel_key.h"

namespace quanta::backends::vulkan {

using core::BoundNode;
using core::BoundTensor;

using core::kNone;  // "no such source" in a key

struct View {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceSize offset = 0;  // descriptor offset (aligned)
    VkDeviceSize range = 0;   // descriptor range
    uint32_t first = 0;       // first element of the tensor in the window, in units of the array element
    bool write = false;
    VkDeviceSize lo = 0, hi = 0;  // bytes of the buffer the dispatch may touch (for barriers)
};

class Recorder {
public:
    Recorder(Device & device, VkCommandBuffer cb);
    ~Recorder();
    Recorder(const Recorder &) = delete;
    Recorder & operator=(const Recorder &) = delete;

    Device & device() { return device_; }
    const DeviceFeatures & features() const { return device_.info().features; }
    uint64_t max_range() const { return max_range_; }
    // Tests: caps every binding below the device's maxStorageBufferRange (0: the device's), so the
    // splitting paths run with small tensors.
    void limit_range(uint64_t bytes);

    Result<View> read(const BoundTensor & t, uint32_t unit = 4) { return tensor(t, unit, false); }
    Result<View> write(const BoundTensor & t, uint32_t unit = 4) { return tensor(t, unit, true); }
    // Bytes [offset, offset + bytes) of a backend buffer (a VkBackend buffer).
    Result<View> window(const core::Buffer & b, size_t offset, size_t bytes, uint32_t unit, bool write);
    // A copy of host bytes readable by this run's dispatches (rope frequencies, small tables).
    Result<View> constants(const void * data, size_t bytes);
    // The data-error words (see "Data errors" above).
    Result<View> data_errors();
    // `bytes` of device memory for intermediates inside this run (mul_mat's rotated activations),
    // contents undefined, valid until the run's fence has signalled. The view is marked written
    // (bind it as a dispatch's output); copy it with write = false to bind it as an input.
    Result<View> scratch(size_t bytes);

    Result<Pipeline *> pipeline(const std::string & shader, uint32_t n_buffers, uint32_t push_bytes,
                                std::initializer_list<uint32_t> spec);
    Status dispatch(const Pipeline & p, std::initializer_list<View> views, const void * push, uint32_t gx,
                    uint32_t gy = 1, uint32_t gz = 1);

    // Splits `groups` workgroups into (gx, gy) within the device limit; shaders use
    // gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x and guard the tail.
    void grid_for(uint64_t groups, uint32_t & gx, uint32_t & gy) const;

    // ---- used by the backend ------------------------------------------------------------------
    void begin_node();  // profiling: timestamp before the node's first dispatch
    void end_node(const core::Node & node);
    int dispatches() const { return dispatches_; }
    // Per-run resources, released by reset() once the run's fence has signalled.
    void reset(VkCommandBuffer cb);
    struct Timing { std::string op; uint32_t first, last; };  // query indices around a node
    const std::vector<Timing> & timings() const { return timings_; }
    VkQueryPool query_pool() const { return query_pool_; }
    uint32_t queries() const { return queries_; }
    void enable_profiling(bool on) { profile_ = on; }
    uint32_t * error_words() { return static_cast<uint32_t *>(errors_.mapped); }  // null until first used

private:
    Result<View> tensor(const BoundTensor & t, uint32_t unit, bool write);
    Result<View> make_view(VkBuffer buffer, size_t buffer_bytes, size_t offset, size_t bytes, uint32_t unit, bool write);
    void hazard_barrier(std::initializer_list<View> views);
    Result<VkDescriptorSet> allocate_set(VkDescriptorSetLayout layout);

    struct Range { VkBuffer buffer; VkDeviceSize lo, hi; };
    Device & device_;
    VkCommandBuffer cb_;
    uint64_t max_range_ = 0;
    std::vector<Range> written_, read_;      // since the last barrier
    std::vector<VkDescriptorPool> pools_;    // this run's descriptor pools (first reused)
    size_t pool_in_use_ = 0;
    uint32_t sets_in_pool_ = 0;
    std::vector<Buffer> constant_buffers_;   // host-visible, freed by reset()
    Buffer constant_arena_;                  // bump-allocated
    size_t constant_used_ = 0;
    Buffer errors_;                          // host-visible uint[4], persists across runs
    Buffer scratch_arena_;                   // scratch(): bump-allocated per run, reused across runs
    size_t scratch_used_ = 0;
    int dispatches_ = 0;
    bool profile_ = false;
    VkQueryPool query_pool_ = VK_NULL_HANDLE;
    uint32_t query_capacity_ = 0, queries_ = 0, node_first_ = 0;
    std::vector<Timing> timings_;
};

using RecordFn = Status (*)(const BoundNode & n, Recorder & rec);

class KernelTable {
public:
    explicit KernelTable(const DeviceFeatures & features) : features_(features) {}
    void add(core::Op op, Type dst, Type src0, Type src1, RecordFn fn);
    RecordFn find(const core::Node & node) const;
    const DeviceFeatures & features() const { return features_; }
    size_t size() const { return table_.size(); }

private:
    DeviceFeatures features_;
    std::unordered_map<uint64_t, RecordFn> table_;  // by core::kernel_key
};

// One registration function per op family (ops_*.cpp), called by the VkBackend constructor.
void register_elementwise(KernelTable & t);  // add mul scale silu gelu glu soft_cap soft_max argmax
void register_norm_rope(KernelTable & t);    // rms_norm rope
void register_attention(KernelTable & t);    // attention
void register_copy(KernelTable & t);         // copy set_rows
void register_matmul(KernelTable & t);       // mul_mat (engineer B)
void register_get_rows(KernelTable & t);     // get_rows (engineer B)

// Source i of a node when the node has it (optional sources such as attention's kpos), else null.
inline const BoundTensor * optional_src(const BoundNode & n, int i) {
    return i < n.node->n_src && i < core::kMaxSrc ? &n.src[size_t(i)] : nullptr;
}

// Calls f(part) for parts of node n that together cover it, each small enough that every operand's
// extent fits in `max_range` bytes. Splits the outermost dim of dst with extent > 1 (recursing into
// inner dims when one slice is still too large); an operand with the same extent as dst in that dim
// is sliced with it, an operand of extent 1 there (broadcast) is kept whole. Fails for an operand
// that broadcasts with another period, or a single row that is too large.
Status split_rows(const BoundNode & n, uint64_t max_range, const std::function<Status(const BoundNode &)> & f);

}  // namespace quanta::backends::vulkan
