// core/executor.h — runs a Graph on one or two backends: per-node assignment with fallback to the
// CPU, the layer split (first N layers on the accelerator, the rest on the CPU), copies across
// backends, and the memory plan of intermediates. Planned once, reused for every run with the same
// graph (the decode loop writes new inputs and calls run() again).
//
//   Executor plan: for each node in graph order
//     backend = layer < n_gpu_layers ? gpu : cpu          (kNoLayer nodes: gpu_outside_layers)
//     if !backend.supports(node): backend = cpu           (fallback, counted in stats)
//     each source living on another backend gets a mirror on this one (one copy, reused until the
//     source storage is written again); an in-place write (set_rows) into a storage that lives
//     elsewhere runs on a mirror and is copied back.
//   Then every intermediate and mirror is placed by the planner (core/planner.h) in one arena per
//   backend, and consecutive nodes of one backend are submitted with one Backend::run call.
//
// Ownership: the executor owns its copy of the graph, the arenas and buffers made by bind_new; the
// caller owns the backends and buffers passed to bind, which must outlive the executor.
// Thread safety: one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/graph.h"

namespace quanta::core {

// A source of an observed node in host memory: the view's type, extents and byte strides, and a
// pointer to its first byte. Valid only during NodeObserver::observe.
struct HostView {
    Type type = Type::F32;
    std::array<int64_t, kMaxDims> ne{1, 1, 1, 1};  // dim 0 innermost
    std::array<int64_t, kMaxDims> nb{0, 0, 0, 0};  // byte strides
    const uint8_t * data = nullptr;
};

// Analysis hook (`quanta imatrix` collects activation statistics with it): looks at the sources of
// chosen nodes after they ran. wants() is asked once per node when the executor resolves its plan
// and returns a bit mask of the sources to show (bit k: src[k]; 0: not observed). Each chosen node
// ends its submission group (one more Backend::run per chosen node), and right after it runs (its
// backend synced, before any dead intermediate is reused or poisoned) observe() gets host views of
// the chosen sources (the others have data == nullptr), downloaded first where the memory has no
// host address. Called on the thread that calls run(); a non-ok Status stops the run and is
// returned by it.
class NodeObserver {
public:
    virtual ~NodeObserver() = default;
    virtual uint32_t wants(const Graph & graph, int node) const = 0;
    virtual Status observe(const Graph & graph, int node, std::span<const HostView> src) = 0;
};

struct ExecutorOptions {
    Backend * cpu = nullptr;          // required: runs every op and is the fallback
    Backend * gpu = nullptr;          // optional accelerator (any Backend, a second CPU in tests)
    int n_gpu_layers = 0;             // nodes of layers [0, n_gpu_layers) prefer the gpu
    bool gpu_outside_layers = false;  // nodes without a layer tag (embedding, head) prefer the gpu
    bool reuse_memory = true;         // false: every intermediate gets its own bytes
    bool poison_freed = false;        // debug: fill an intermediate with NaN bytes once it is dead
    int64_t alignment = 256;          // byte alignment of planned tensors
    NodeObserver * observer = nullptr;  // optional; must outlive the executor (see NodeObserver)
};

struct ExecutorStats {
    // Index 0: the cpu backend; index 1: the gpu backend (when given).
    std::vector<std::string> backend_names;
    std::vector<int> nodes_on;              // nodes assigned to each backend
    std::vector<int64_t> planned_peak;      // arena bytes of intermediates + mirrors per backend
    std::vector<int64_t> unshared_bytes;    // the same without reuse
    int fallbacks = 0;                      // nodes that preferred the gpu but run on the cpu
    int copies = 0;                         // cross-backend copies per run
    int64_t copy_bytes = 0;                 // bytes those copies move per run
    int submissions = 0;                    // Backend::run calls per run
};

class Executor {
public:
    static Result<std::unique_ptr<Executor>> create(Graph graph, const ExecutorOptions & options);
    ~Executor();

    // Places an external storage (the tensor returned by GraphBuilder::input/weight) at `offset` of
    // `buffer`, which must belong to the cpu or gpu backend of the options.
    Status bind(const Tensor & external, Buffer & buffer, size_t offset = 0);
    // Allocates the external storage on `backend` (owned by the executor) and binds it.
    Status bind_new(const Tensor & external, Backend & backend);
    // Binds host bytes the caller keeps alive (a tensor of the mmap'd model file): zero-copy through
    // Backend::wrap_host where the backend offers it, else an owned copy made by alloc + upload.
    // `bytes` must equal the storage size.
    Status bind_host(const Tensor & external, Backend & backend, void * data, size_t bytes);

    // Copies packed bytes into an external tensor (a packed view of a bound external storage).
    Status write(const Tensor & t, const void * data, size_t bytes);
    // Copies a packed tensor of an output or external storage out (after run()).
    Status read(const Tensor & t, void * data, size_t bytes);

    // Where an external is used: the backend (0 cpu, 1 gpu) of the first node that reads or writes
    // it under the options' assignment and fallback. A loader binds each weight and KV cache there,
    // so the layer split moves only activations. Valid before any bind; -1 when no node uses it.
    int preferred_backend(const Tensor & external) const;

    Status prepare();  // plans now (run() does it when needed); every external must be bound
    Status run();      // runs every node; returns when all results are ready

    const ExecutorStats & stats() const { return stats_; }
    // The backend index (0 cpu, 1 gpu) of node i; valid after prepare().
    int node_backend(int i) const { return node_backend_[size_t(i)]; }
    const Graph & graph() const { return graph_; }

private:
    struct Impl;
    Executor(Graph graph, const ExecutorOptions & options);
    Status assign();
    Status plan();
    Status resolve();

    Graph graph_;
    ExecutorOptions options_;
    ExecutorStats stats_;
    std::vector<int> node_backend_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace quanta::core
