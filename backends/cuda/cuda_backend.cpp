// backends/cuda/cuda_backend.cpp — device, buffers, staging copies, run() with CUDA graphs.
// Host code only (compiled by the C++ compiler against the CUDA runtime); kernels live in ops/*.cu.
#include "backends/cuda/cuda_backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <variant>

namespace quanta::backends::cuda {

namespace {

std::string mib(size_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

bool env_flag(const char * name, bool fallback) {
    const char * v = std::getenv(name);
    if (!v || !*v) return fallback;
    return !(v[0] == '0' && v[1] == '\0');
}

// Bytes from a tensor's first byte to one past its last (for poisoning an output).
template <typename T>
void append(std::vector<uint8_t> & out, const T & v) {
    const auto * p = reinterpret_cast<const uint8_t *>(&v);
    out.insert(out.end(), p, p + sizeof(T));
}

// Everything a captured launch depends on: node identity, op, params, and per tensor the device
// address, type, extents and strides. Equal signatures launch identical kernels.
std::vector<uint8_t> signature(std::span<const core::BoundNode> nodes) {
    std::vector<uint8_t> sig;
    sig.reserve(nodes.size() * 512);
    for (const core::BoundNode & n : nodes) {
        append(sig, n.node);
        append(sig, n.node->op);
        std::array<uint8_t, 64> params{};
        std::visit(
            [&](const auto & p) {
                static_assert(sizeof(p) <= sizeof(params));
                std::memcpy(params.data(), &p, sizeof(p));
            },
            n.node->param_values);
        append(sig, params);
        append(sig, n.node->param_values.index());
        const int n_src = n.node->n_src;
        for (int i = -1; i < n_src; ++i) {
            const BoundTensor & t = i < 0 ? n.dst : n.src[size_t(i)];
            append(sig, t.buffer ? static_cast<const void *>(dev_ptr(t)) : nullptr);
            append(sig, t.type);
            append(sig, t.ne);
            append(sig, t.nb);
        }
    }
    return sig;
}

const char * data_error_text(int code) {
    switch (code) {
        case kErrGetRowsId: return "get_rows: a row id is out of range of the table (check the token ids)";
        case kErrSetRowsId: return "set_rows: a row id is out of range of the cache (the KV cache is full?)";
        default: return "a kernel reported an unknown data error";
    }
}

}  // namespace

CudaBuffer::~CudaBuffer() {
    if (device_) {
        static_cast<CudaBackend &>(backend()).buffer_freed(device_, size());
        cudaFree(device_);
    }
}

void CudaBackend::buffer_freed(const void * device, size_t bytes) {
    cudaSetDevice(device_);
    if (repacks_.forget(static_cast<const char *>(device), bytes, stream_)) forget_graph();
}

void CudaBackend::drop_repacks() {
    repacks_.clear(stream_);
    repacks_.stop();
    forget_graph();  // captured launches read the copies
}

void KernelTable::add(core::Op op, Type dst, Type src0, Type src1, KernelFn fn, ScratchFn scratch, FitsFn fits) {
    table_[core::kernel_key(op, dst, src0, src1)] = {fn, scratch, fits};
}

const KernelEntry * KernelTable::find(const core::Node & node) const {
    auto it = table_.find(core::kernel_key(node));
    if (it == table_.end()) return nullptr;
    if (it->second.fits && !it->second.fits(node)) return nullptr;
    return &it->second;
}

bool KernelTable::has(core::Op op, Type dst, Type src0, Type src1) const {
    return table_.count(core::kernel_key(op, dst, src0, src1)) != 0;
}

Status CudaBackend::cuda_error(cudaError_t err, const std::string & what) const {
    return Status::error(name_ + ": " + what + ": " + cudaGetErrorString(err));
}

CudaBackend::CudaBackend(int device, std::string name) : device_(device), name_(std::move(name)) {
    register_elementwise(table_);
    register_norm_rope(table_);
    register_matmul(table_);
    register_attention(table_);
    register_copy(table_);
    graphs_ = env_flag("QUANTA_CUDA_GRAPHS", true);
    poison_ = env_flag("QUANTA_CUDA_POISON", false);
}

Result<std::unique_ptr<CudaBackend>> CudaBackend::create(int device) {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0) {
        const std::string why = err != cudaSuccess ? cudaGetErrorString(err) : "the driver reports 0 devices";
        cudaGetLastError();
        return Status::error("cuda: no CUDA device (" + why + "); use --backend cpu");
    }
    if (device < 0 || device >= count) {
        return Status::error("cuda: device " + std::to_string(device) + " does not exist (" + std::to_string(count) +
                             " found: --device 0.." + std::to_string(count - 1) + ")");
    }
    std::unique_ptr<CudaBackend> b(new CudaBackend(device, "cuda:" + std::to_string(device)));
    if ((err = cudaSetDevice(device)) != cudaSuccess) return b->cuda_error(err, "cudaSetDevice");
    cudaDeviceProp prop{};
    if ((err = cudaGetDeviceProperties(&prop, device)) != cudaSuccess) return b->cuda_error(err, "device properties");
    if (prop.major < 8) {
        return Status::error(b->name_ + ": " + prop.name + " is sm_" + std::to_string(prop.major) +
                             std::to_string(prop.minor) + "; quanta's CUDA kernels need sm_80 or newer");
    }
    b->sm_count_ = prop.multiProcessorCount;
    if ((err = cudaStreamCreateWithFlags(&b->stream_, cudaStreamNonBlocking)) != cudaSuccess) {
        return b->cuda_error(err, "creating the stream");
    }
    if ((err = cudaHostAlloc(reinterpret_cast<void **>(&b->stage_), 2 * kStageBytes, cudaHostAllocDefault)) != cudaSuccess) {
        b->stage_ = nullptr;
        return b->cuda_error(err, "allocating " + mib(2 * kStageBytes) + " of pinned staging memory");
    }
    for (cudaEvent_t & e : b->stage_done_) {
        if ((err = cudaEventCreateWithFlags(&e, cudaEventDisableTiming)) != cudaSuccess) return b->cuda_error(err, "events");
    }
    if ((err = cudaMalloc(reinterpret_cast<void **>(&b->error_word_), sizeof(int))) != cudaSuccess) {
        return b->cuda_error(err, "allocating the error word");
    }
    if ((err = cudaMemset(b->error_word_, 0, sizeof(int))) != cudaSuccess) return b->cuda_error(err, "clearing the error word");
    return b;
}

CudaBackend::~CudaBackend() {
    cudaSetDevice(device_);
    if (stream_) cudaStreamSynchronize(stream_);
    drop_graph();
    repacks_.clear(stream_);
    if (scratch_) cudaFree(scratch_);
    if (error_word_) cudaFree(error_word_);
    for (cudaEvent_t e : stage_done_) {
        if (e) cudaEventDestroy(e);
    }
    if (stage_) cudaFreeHost(stage_);
    if (stream_) cudaStreamDestroy(stream_);
}

Result<DeviceMemory> CudaBackend::memory() const {
    cudaSetDevice(device_);
    DeviceMemory m;
    const cudaError_t err = cudaMemGetInfo(&m.free_bytes, &m.total_bytes);
    if (err != cudaSuccess) return cuda_error(err, "cudaMemGetInfo");
    return m;
}

Result<core::BufferPtr> CudaBackend::alloc(size_t bytes) {
    cudaSetDevice(device_);
    void * p = nullptr;
    cudaError_t err = cudaMalloc(&p, std::max<size_t>(bytes, 1));  // 256-byte aligned
    if (err != cudaSuccess && !repacks_.empty()) {
        // The repacked weight copies are only a speed-up: a buffer allocated after them (an
        // intermediate arena that grows for a longer prompt, a KV cache, a second model) gets
        // their memory, as the kernel scratch does, and no more copies are made.
        cudaGetLastError();
        drop_repacks();
        err = cudaMalloc(&p, std::max<size_t>(bytes, 1));
    }
    if (err != cudaSuccess) {
        cudaGetLastError();
        size_t free_b = 0, total_b = 0;
        cudaMemGetInfo(&free_b, &total_b);
        return Status::error(name_ + ": out of device memory allocating " + mib(bytes) + " (" + mib(free_b) + " free of " +
                             mib(total_b) + "): " + cudaGetErrorString(err) + "; run fewer layers on the GPU (--ngl)");
    }
    return core::BufferPtr(new CudaBuffer(*this, bytes, p));
}

// Host bytes -> pinned staging half -> device, alternating halves so the copy of one chunk
// overlaps the memcpy of the next; a half is reused once its previous copy has finished.
Status CudaBackend::upload(core::Buffer & dst, size_t offset, const void * src, size_t bytes) {
    if (&dst.backend() != this) return Status::error(name_ + ": upload into a buffer of backend '" + std::string(dst.backend().name()) + "'");
    if (offset > dst.size() || dst.size() - offset < bytes) {
        return Status::error(name_ + ": upload of " + std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
                             " overruns a buffer of " + std::to_string(dst.size()));
    }
    cudaSetDevice(device_);
    char * d = static_cast<char *>(static_cast<CudaBuffer &>(dst).device()) + offset;
    if (repacks_.forget(d, bytes, stream_)) forget_graph();  // those weights changed: repack again
    const char * s = static_cast<const char *>(src);
    int half = 0;
    for (size_t done = 0; done < bytes; done += kStageBytes, half ^= 1) {
        const size_t n = std::min(kStageBytes, bytes - done);
        cudaError_t err = cudaEventSynchronize(stage_done_[half]);
        if (err != cudaSuccess) return cuda_error(err, "upload (waiting for staging)");
        char * stage = stage_ + size_t(half) * kStageBytes;
        std::memcpy(stage, s + done, n);
        if ((err = cudaMemcpyAsync(d + done, stage, n, cudaMemcpyHostToDevice, stream_)) != cudaSuccess) {
            return cuda_error(err, "upload of " + std::to_string(n) + " bytes");
        }
        if ((err = cudaEventRecord(stage_done_[half], stream_)) != cudaSuccess) return cuda_error(err, "upload (event)");
    }
    return ok_status();
}

Status CudaBackend::download(const core::Buffer & src, size_t offset, void * dst, size_t bytes) {
    if (&src.backend() != this) return Status::error(name_ + ": download from a buffer of backend '" + std::string(src.backend().name()) + "'");
    if (offset > src.size() || src.size() - offset < bytes) {
        return Status::error(name_ + ": download of " + std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
                             " overruns a buffer of " + std::to_string(src.size()));
    }
    cudaSetDevice(device_);
    const char * s = static_cast<const char *>(static_cast<const CudaBuffer &>(src).device()) + offset;
    char * d = static_cast<char *>(dst);
    for (size_t done = 0; done < bytes; done += kStageBytes) {
        const size_t n = std::min(kStageBytes, bytes - done);
        cudaError_t err = cudaMemcpyAsync(stage_, s + done, n, cudaMemcpyDeviceToHost, stream_);
        if (err == cudaSuccess) err = cudaStreamSynchronize(stream_);
        if (err != cudaSuccess) return cuda_error(err, "download of " + std::to_string(n) + " bytes");
        std::memcpy(d + done, stage_, n);
    }
    return ok_status();
}

bool CudaBackend::supports(const core::Node & node) const { return table_.find(node) != nullptr; }

void CudaBackend::drop_graph() {
    if (graph_exec_) cudaGraphExecDestroy(graph_exec_);
    graph_exec_ = nullptr;
}

Status CudaBackend::ensure_scratch(size_t bytes) {
    if (bytes <= scratch_size_) return ok_status();
    cudaError_t err = cudaStreamSynchronize(stream_);  // in-flight kernels may still use the old scratch
    if (err != cudaSuccess) return cuda_error(err, "waiting before growing the scratch");
    drop_graph();  // captured launches hold the old address
    if (scratch_) cudaFree(scratch_);
    scratch_ = nullptr;
    scratch_size_ = 0;
    const size_t rounded = (bytes + (size_t(1) << 20) - 1) & ~((size_t(1) << 20) - 1);
    err = cudaMalloc(reinterpret_cast<void **>(&scratch_), rounded);
    if (err != cudaSuccess && !repacks_.empty()) {
        // The repacked weight copies are an optional speed-up: give their memory to the scratch
        // and make no more (prompts then take the unrepacked tensor-core kernel).
        cudaGetLastError();
        drop_repacks();
        err = cudaMalloc(reinterpret_cast<void **>(&scratch_), rounded);
    }
    if (err != cudaSuccess) {
        cudaGetLastError();
        scratch_ = nullptr;
        return cuda_error(err, "allocating " + mib(rounded) + " of kernel scratch");
    }
    scratch_size_ = rounded;
    return ok_status();
}

Status CudaBackend::launch_all(std::span<const core::BoundNode> nodes) {
    LaunchCtx ctx;
    ctx.stream = stream_;
    ctx.scratch = scratch_;
    ctx.scratch_size = scratch_size_;
    ctx.error = error_word_;
    ctx.sm_count = sm_count_;
    ctx.repacks = &repacks_;
    for (size_t i = 0; i < nodes.size(); ++i) {
        const core::BoundNode & n = nodes[i];
        const KernelEntry * e = entries_[i];
        if (poison_ && n.node->defines_dst()) {
            const cudaError_t err = cudaMemsetAsync(dev_ptr(n.dst), 0xFF, n.dst.extent_bytes(), stream_);
            if (err != cudaSuccess) return cuda_error(err, "poisoning the output of " + std::string(core::op_name(n.node->op)));
        }
        e->fn(n, ctx);
        const cudaError_t err = cudaGetLastError();
        if (err != cudaSuccess) return cuda_error(err, "launching " + std::string(core::op_name(n.node->op)));
    }
    return ok_status();
}

// Repacked weights for the tensor-core mul_mat (ops/repack.h), before anything is launched or
// captured: copies whose source this run writes are dropped (with the captured graph); the copies
// the run's prompt mul_mats want are made now (repack kernels on the stream), except for sources
// that a node of this run writes (a copy made now would precede the write).
void CudaBackend::prepare_repacks(std::span<const core::BoundNode> nodes) {
    bool changed = false;
    if (!repacks_.empty()) {
        for (const core::BoundNode & n : nodes) changed |= repacks_.forget(dev_ptr(n.dst), n.dst.extent_bytes(), stream_);
    }
    for (const core::BoundNode & n : nodes) {
        if (repacks_.stopped()) break;  // no copy will be made: skip the overlap scans below
        if (!repack_wanted(n) || repacks_.find(n.src[0])) continue;
        const char * w = dev_ptr(n.src[0]);
        const size_t w_bytes = n.src[0].extent_bytes();
        const bool written = std::any_of(nodes.begin(), nodes.end(), [&](const core::BoundNode & o) {
            const char * p = dev_ptr(o.dst);
            return p < w + w_bytes && w < p + o.dst.extent_bytes();
        });
        if (!written) changed |= repacks_.make(n.src[0], stream_);
    }
    if (changed) forget_graph();  // a captured graph launched other kernels (or freed copies)
}

Status CudaBackend::run(std::span<const core::BoundNode> nodes) {
    if (nodes.empty()) return ok_status();
    cudaSetDevice(device_);
    size_t need = 0;
    entries_.clear();
    for (const core::BoundNode & n : nodes) {
        const KernelEntry * e = table_.find(*n.node);
        entries_.push_back(e);
        if (!e) return Status::error(name_ + ": no kernel for " + std::string(core::op_name(n.node->op)));
        for (int i = -1; i < n.node->n_src; ++i) {
            const BoundTensor & t = i < 0 ? n.dst : n.src[size_t(i)];
            if (!t.buffer || &t.buffer->backend() != this) {
                return Status::error(name_ + ": " + std::string(core::op_name(n.node->op)) + " reads a tensor that is not in " +
                                     name_ + " memory");
            }
        }
        if (e->scratch) need = std::max(need, e->scratch(n, sm_count_));
    }
    QUANTA_TRY(ensure_scratch(need));
    prepare_repacks(nodes);

    if (!graphs_) return launch_all(nodes);
    std::vector<uint8_t> sig = signature(nodes);
    const bool same = sig == last_signature_;
    if (!same) {
        drop_graph();
        capture_failed_ = false;
        last_signature_ = std::move(sig);
        return launch_all(nodes);
    }
    if (!graph_exec_ && !capture_failed_) {
        // Second identical call: capture the launches once, then replay from now on.
        cudaError_t err = cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal);
        if (err == cudaSuccess) {
            const Status launched = launch_all(nodes);
            cudaGraph_t graph = nullptr;
            err = cudaStreamEndCapture(stream_, &graph);
            if (launched.ok() && err == cudaSuccess && graph) {
                err = cudaGraphInstantiate(&graph_exec_, graph, 0);
                if (err != cudaSuccess) graph_exec_ = nullptr;
            }
            if (graph) cudaGraphDestroy(graph);
        }
        if (!graph_exec_) {
            cudaGetLastError();  // a failed capture leaves nothing launched: run directly below
            capture_failed_ = true;
        }
    }
    if (!graph_exec_) return launch_all(nodes);
    const cudaError_t err = cudaGraphLaunch(graph_exec_, stream_);
    if (err != cudaSuccess) return cuda_error(err, "replaying the captured graph");
    ++graph_replays_;
    return ok_status();
}

Status CudaBackend::sync() {
    cudaSetDevice(device_);
    cudaError_t err = cudaStreamSynchronize(stream_);
    if (err != cudaSuccess) return cuda_error(err, "running kernels");
    int code = 0;
    if ((err = cudaMemcpy(&code, error_word_, sizeof code, cudaMemcpyDeviceToHost)) != cudaSuccess) {
        return cuda_error(err, "reading the error word");
    }
    if (code != kErrNone) {
        cudaMemset(error_word_, 0, sizeof(int));
        return Status::error(name_ + ": " + data_error_text(code));
    }
    return ok_status();
}

Result<std::unique_ptr<core::Backend>> create_backend(int device) {
    Result<std::unique_ptr<CudaBackend>> b = CudaBackend::create(device);
    if (!b.ok()) return b.status();
    return std::unique_ptr<core::Backend>(std::move(b.value()));
}

}  // namespace quanta::backends::cuda
