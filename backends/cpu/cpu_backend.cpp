// backends/cpu/cpu_backend.cpp — buffers in host memory, the kernel table, and run(): one pool job
// per call that walks all nodes with a barrier between them.
#include "backends/cpu/cpu_backend.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

namespace quanta::backends::cpu {

namespace {

constexpr size_t kAlign = 64;

class HostBuffer final : public core::Buffer {
public:
    HostBuffer(core::Backend & owner, size_t size, void * data, bool owned)
        : core::Buffer(owner, size, data), owned_(owned) {}
    ~HostBuffer() override {
        if (owned_) std::free(host_data());
    }

private:
    bool owned_;
};

Status check_range(const core::Buffer & b, size_t offset, size_t bytes, const char * what) {
    if (offset > b.size() || b.size() - offset < bytes) {
        return Status::error(std::string("cpu: ") + what + " of " + std::to_string(bytes) + " bytes at offset " +
                             std::to_string(offset) + " overruns a buffer of " + std::to_string(b.size()));
    }
    return ok_status();
}

// Nodes this small run on thread 0 alone: a run of them needs no barrier in between, which is
// most of a decode step's elementwise ops (a barrier costs about as much as the op itself).
constexpr int64_t kSoloElements = 8192;

bool run_solo(const core::BoundNode & n) {
    switch (n.node->op) {
        case core::Op::MulMat:
        case core::Op::Attention: return false;
        case core::Op::SetRows: return n.src[0].nelements() <= kSoloElements;
        default: return n.dst.nelements() <= kSoloElements;
    }
}

struct RunCtx {
    std::span<const core::BoundNode> nodes;
    std::vector<char> solo;
    const KernelTable * table;
    ThreadPool * pool;
    char * work;
    size_t work_size;
    std::string error;
    std::mutex mutex;
};

void run_job(void * p, int ith) {
    RunCtx & rc = *static_cast<RunCtx *>(p);
    KernelCtx ctx;
    ctx.ith = ith;
    ctx.nth = rc.pool->size();
    ctx.pool = rc.pool;
    ctx.work = rc.work;
    ctx.work_size = rc.work_size;
    ctx.error = &rc.error;
    ctx.error_mutex = &rc.mutex;
    KernelCtx solo_ctx = ctx;
    solo_ctx.nth = 1;
    for (size_t i = 0; i < rc.nodes.size(); ++i) {
        const KernelEntry * e = rc.table->find(*rc.nodes[i].node);
        if (!rc.solo[i]) e->fn(rc.nodes[i], ctx);
        else if (ith == 0) e->fn(rc.nodes[i], solo_ctx);
        if (i + 1 < rc.nodes.size() && !(rc.solo[i] && rc.solo[i + 1])) rc.pool->barrier();
    }
}

}  // namespace

void KernelCtx::fail(const std::string & message) const {
    std::lock_guard<std::mutex> lock(*static_cast<std::mutex *>(error_mutex));
    if (error->empty()) *error = message;
}

void KernelTable::add(core::Op op, Type dst, Type src0, Type src1, KernelFn fn, WorkFn work) {
    table_[core::kernel_key(op, dst, src0, src1)] = {fn, work};
}

const KernelEntry * KernelTable::find(const core::Node & node) const {
    auto it = table_.find(core::kernel_key(node));
    return it == table_.end() ? nullptr : &it->second;
}

bool KernelTable::has_op(core::Op op) const {
    for (const auto & kv : table_) {
        if (core::kernel_key_op(kv.first) == op) return true;
    }
    return false;
}

CpuBackend::CpuBackend(int n_threads, std::string name)
    : name_(std::move(name)), pool_(n_threads > 0 ? n_threads : ThreadPool::default_threads()) {
    register_elementwise(table_);
    register_norm_rope(table_);
    register_matmul(table_);
    register_attention(table_);
    register_copy(table_);
}

CpuBackend::~CpuBackend() { std::free(work_); }

Result<core::BufferPtr> CpuBackend::alloc(size_t bytes) {
    const size_t rounded = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
    void * p = std::aligned_alloc(kAlign, rounded);
    if (!p) return Status::error("cpu: out of memory allocating " + std::to_string(bytes) + " bytes");
    return core::BufferPtr(new HostBuffer(*this, bytes, p, true));
}

Result<core::BufferPtr> CpuBackend::wrap_host(void * data, size_t bytes) {
    if (!data) return Status::error("cpu: wrap_host of a null pointer");
    return core::BufferPtr(new HostBuffer(*this, bytes, data, false));
}

Status CpuBackend::upload(core::Buffer & dst, size_t offset, const void * src, size_t bytes) {
    QUANTA_TRY(check_range(dst, offset, bytes, "upload"));
    if (!dst.host_data()) return Status::error("cpu: upload into a buffer without host memory");
    std::memmove(static_cast<char *>(dst.host_data()) + offset, src, bytes);
    return ok_status();
}

Status CpuBackend::download(const core::Buffer & src, size_t offset, void * dst, size_t bytes) {
    QUANTA_TRY(check_range(src, offset, bytes, "download"));
    if (!src.host_data()) return Status::error("cpu: download from a buffer without host memory");
    std::memmove(dst, static_cast<const char *>(src.host_data()) + offset, bytes);
    return ok_status();
}

bool CpuBackend::supports(const core::Node & node) const { return table_.find(node) != nullptr; }

Status CpuBackend::run(std::span<const core::BoundNode> nodes) {
    if (nodes.empty()) return ok_status();
    size_t need = 0;
    for (const core::BoundNode & n : nodes) {
        const KernelEntry * e = table_.find(*n.node);
        if (!e) return Status::error("cpu: no kernel for " + std::string(core::op_name(n.node->op)));
        for (const core::BoundTensor * t : {&n.dst, &n.src[0], &n.src[1], &n.src[2], &n.src[3]}) {
            if (t->buffer && !t->buffer->host_data()) {
                return Status::error("cpu: " + std::string(core::op_name(n.node->op)) + " reads a buffer of backend '" +
                                     std::string(t->buffer->backend().name()) + "' without host memory");
            }
        }
        if (e->work) need = std::max(need, e->work(n, pool_.size()));
    }
    if (need > work_size_) {
        std::free(work_);
        work_size_ = (need + kAlign - 1) / kAlign * kAlign;
        work_ = std::aligned_alloc(kAlign, work_size_);
        if (!work_) {
            work_size_ = 0;
            return Status::error("cpu: out of memory for " + std::to_string(need) + " bytes of kernel scratch");
        }
    }
    RunCtx rc{nodes, {}, &table_, &pool_, static_cast<char *>(work_), work_size_, {}, {}};
    rc.solo.resize(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) rc.solo[i] = pool_.size() > 1 && run_solo(nodes[i]);
    pool_.run(run_job, &rc);
    if (!rc.error.empty()) return Status::error("cpu: " + rc.error);
    return ok_status();
}

}  // namespace quanta::backends::cpu
