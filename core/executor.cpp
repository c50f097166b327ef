// core/executor.cpp — assignment, mirrors and copies, memory planning and submission (see
// executor.h for the algorithm).
#include "core/executor.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "core/planner.h"

namespace quanta::core {

namespace {

constexpr int kCpu = 0;
constexpr int kGpu = 1;

// Bytes of a storage as it lives on one backend: its home, or a mirror made by a copy.
struct VStorage {
    int storage = -1;
    int backend = -1;
    bool home = true;     // false: a mirror on another backend
    int first = -1;       // steps, inclusive
    int last = -1;
    int64_t offset = 0;   // in the backend's arena (planned storages)
};

constexpr std::array<int, kMaxSrc> no_sources() {
    std::array<int, kMaxSrc> a{};
    a.fill(-1);
    return a;
}

struct Step {
    bool copy = false;
    int backend = 0;      // compute: where it runs; copy: the destination's backend
    int node = -1;
    int dst_vs = -1;
    std::array<int, kMaxSrc> src_vs = no_sources();  // copy: src_vs[0] is the source
};

struct Binding {
    Buffer * buffer = nullptr;
    size_t offset = 0;
};

struct Group {
    bool copy = false;
    int backend = 0;
    int first_step = 0;
    int end_step = 0;
    std::vector<BoundNode> nodes;
    uint32_t observed = 0;  // sources of its last node the NodeObserver wants (the node ends the group)
};

Status copy_between(Buffer & src, size_t src_off, Buffer & dst, size_t dst_off, size_t n) {
    if (src.host_data()) {
        QUANTA_TRY(src.backend().sync());
        return dst.backend().upload(dst, dst_off, static_cast<const char *>(src.host_data()) + src_off, n);
    }
    if (dst.host_data()) {
        QUANTA_TRY(dst.backend().sync());
        return src.backend().download(src, src_off, static_cast<char *>(dst.host_data()) + dst_off, n);
    }
    std::vector<char> staging(n);
    QUANTA_TRY(src.backend().download(src, src_off, staging.data(), n));
    return dst.backend().upload(dst, dst_off, staging.data(), n);
}

// Hands the sources of an observed node to the observer as host views (downloaded where needed).
Status observe_node(NodeObserver & observer, const Graph & graph, int node_index, const BoundNode & bn, uint32_t mask) {
    const Node & node = *bn.node;
    std::array<HostView, kMaxSrc> views{};
    std::array<std::vector<uint8_t>, kMaxSrc> staging;
    for (int k = 0; k < node.n_src; ++k) {
        const BoundTensor & t = bn.src[size_t(k)];
        HostView & v = views[size_t(k)];
        v.type = t.type;
        v.ne = t.ne;
        v.nb = t.nb;
        if (!(mask & (1u << k))) continue;
        if (t.buffer->host_data()) {
            QUANTA_TRY(t.buffer->backend().sync());
            v.data = t.host<const uint8_t>();
            continue;
        }
        const size_t extent = t.extent_bytes();
        staging[size_t(k)].resize(extent);
        QUANTA_TRY(t.buffer->backend().download(*t.buffer, t.offset, staging[size_t(k)].data(), extent));
        v.data = staging[size_t(k)].data();
    }
    return observer.observe(graph, node_index, std::span<const HostView>(views.data(), size_t(node.n_src)));
}

}  // namespace

struct Executor::Impl {
    std::array<Backend *, 2> backends{nullptr, nullptr};
    std::vector<Binding> bindings;  // per graph storage (externals)
    std::vector<BufferPtr> owned;
    std::vector<VStorage> vs;
    std::vector<int> home_vs;       // per graph storage
    std::vector<Step> steps;
    std::vector<std::vector<int>> poison_after;  // per step
    std::array<BufferPtr, 2> arenas;
    std::array<int64_t, 2> peak{0, 0};
    std::vector<Group> groups;
    bool planned = false;
    bool resolved = false;

    int backend_index(const Backend & b) const {
        for (int i = 0; i < 2; ++i) {
            if (backends[size_t(i)] == &b) return i;
        }
        return -1;
    }
};

Executor::Executor(Graph graph, const ExecutorOptions & options)
    : graph_(std::move(graph)), options_(options), impl_(std::make_unique<Impl>()) {}

Executor::~Executor() = default;

Result<std::unique_ptr<Executor>> Executor::create(Graph graph, const ExecutorOptions & options) {
    if (!options.cpu) return Status::error("executor: a cpu backend is required");
    if (options.n_gpu_layers < 0) return Status::error("executor: n_gpu_layers " + std::to_string(options.n_gpu_layers) + " < 0");
    if (options.alignment < 1 || (options.alignment & (options.alignment - 1)) != 0) {
        return Status::error("executor: alignment " + std::to_string(options.alignment) + " is not a power of two");
    }
    if (graph.nodes.empty()) return Status::error("executor: the graph has no nodes");
    std::unique_ptr<Executor> e(new Executor(std::move(graph), options));
    e->impl_->backends = {options.cpu, options.gpu};
    e->impl_->bindings.resize(e->graph_.storages.size());
    e->stats_.backend_names.push_back(std::string(options.cpu->name()));
    if (options.gpu) e->stats_.backend_names.push_back(std::string(options.gpu->name()));
    QUANTA_TRY(e->assign());  // so preferred_backend() answers before anything is bound
    return e;
}

Status Executor::bind(const Tensor & external, Buffer & buffer, size_t offset) {
    if (!external.valid() || size_t(external.storage) >= graph_.storages.size()) {
        return Status::error("executor: bind: invalid tensor");
    }
    const Storage & st = graph_.storages[size_t(external.storage)];
    if (st.kind != StorageKind::External) return Status::error("executor: bind: '" + st.name + "' is not an input");
    const int b = impl_->backend_index(buffer.backend());
    if (b < 0) {
        return Status::error("executor: bind '" + st.name + "': buffer belongs to backend '" +
                             std::string(buffer.backend().name()) + "', which this executor does not use");
    }
    if (offset > buffer.size() || buffer.size() - offset < size_t(st.bytes)) {
        return Status::error("executor: bind '" + st.name + "': " + std::to_string(st.bytes) + " bytes at offset " +
                             std::to_string(offset) + " overrun a buffer of " + std::to_string(buffer.size()));
    }
    Binding & old = impl_->bindings[size_t(external.storage)];
    if (!old.buffer || impl_->backend_index(old.buffer->backend()) != b) impl_->planned = false;
    old = {&buffer, offset};
    impl_->resolved = false;
    return ok_status();
}

Status Executor::bind_new(const Tensor & external, Backend & backend) {
    if (!external.valid() || size_t(external.storage) >= graph_.storages.size()) {
        return Status::error("executor: bind_new: invalid tensor");
    }
    Result<BufferPtr> buf = backend.alloc(size_t(graph_.storages[size_t(external.storage)].bytes));
    if (!buf.ok()) return buf.status();
    impl_->owned.push_back(std::move(buf.value()));
    return bind(external, *impl_->owned.back());
}

Status Executor::bind_host(const Tensor & external, Backend & backend, void * data, size_t bytes) {
    if (!external.valid() || size_t(external.storage) >= graph_.storages.size()) {
        return Status::error("executor: bind_host: invalid tensor");
    }
    const Storage & st = graph_.storages[size_t(external.storage)];
    if (bytes != size_t(st.bytes)) {
        return Status::error("executor: bind_host '" + st.name + "': " + std::to_string(bytes) + " bytes given, " +
                             std::to_string(st.bytes) + " expected");
    }
    Result<BufferPtr> wrapped = backend.wrap_host(data, bytes);
    if (!wrapped.ok()) {
        QUANTA_TRY(bind_new(external, backend));
        const Binding & bd = impl_->bindings[size_t(external.storage)];
        return backend.upload(*bd.buffer, bd.offset, data, bytes);
    }
    impl_->owned.push_back(std::move(wrapped.value()));
    return bind(external, *impl_->owned.back());
}

// 1. Assignment with fallback (needs no bindings).
Status Executor::assign() {
    Impl & m = *impl_;
    const int n_nodes = int(graph_.nodes.size());
    stats_.nodes_on.assign(m.backends[1] ? 2 : 1, 0);
    stats_.fallbacks = 0;
    node_backend_.assign(size_t(n_nodes), kCpu);
    for (int i = 0; i < n_nodes; ++i) {
        const Node & node = graph_.nodes[size_t(i)];
        bool want_gpu = m.backends[kGpu] != nullptr &&
                        (node.layer == kNoLayer ? options_.gpu_outside_layers : node.layer < options_.n_gpu_layers);
        if (want_gpu && !m.backends[kGpu]->supports(node)) {
            want_gpu = false;
            ++stats_.fallbacks;
        }
        if (!want_gpu && !m.backends[kCpu]->supports(node)) {
            return Status::error("executor: backend '" + std::string(m.backends[kCpu]->name()) + "' has no kernel for " +
                                 graph_.node_label(i) + " with result " + node.dst.shape_str());
        }
        node_backend_[size_t(i)] = want_gpu ? kGpu : kCpu;
        ++stats_.nodes_on[size_t(node_backend_[size_t(i)])];
    }
    return ok_status();
}

int Executor::preferred_backend(const Tensor & external) const {
    if (!external.valid() || node_backend_.size() != graph_.nodes.size()) return -1;
    for (size_t i = 0; i < graph_.nodes.size(); ++i) {
        const Node & n = graph_.nodes[i];
        bool uses = !n.defines_dst() && n.dst.storage == external.storage;
        for (int k = 0; k < n.n_src; ++k) uses = uses || n.src[size_t(k)].storage == external.storage;
        if (uses) return node_backend_[i];
    }
    return -1;
}

Status Executor::plan() {
    Impl & m = *impl_;
    const int n_nodes = int(graph_.nodes.size());
    for (size_t s = 0; s < graph_.storages.size(); ++s) {
        if (graph_.storages[s].kind == StorageKind::External && !m.bindings[s].buffer) {
            return Status::error("executor: input '" + graph_.storages[s].name + "' is not bound to a buffer");
        }
    }
    QUANTA_TRY(assign());

    // 2. Homes, mirrors and steps.
    m.vs.clear();
    m.steps.clear();
    m.home_vs.assign(graph_.storages.size(), -1);
    for (size_t s = 0; s < graph_.storages.size(); ++s) {
        VStorage v;
        v.storage = int(s);
        if (graph_.storages[s].kind == StorageKind::External) v.backend = m.backend_index(m.bindings[s].buffer->backend());
        m.home_vs[s] = int(m.vs.size());
        m.vs.push_back(v);
    }
    std::map<std::pair<int, int>, int> mirrors;  // (storage, backend) -> vs
    auto drop_mirrors = [&](int storage, int keep_backend) {
        for (auto it = mirrors.begin(); it != mirrors.end();) {
            if (it->first.first == storage && it->first.second != keep_backend) it = mirrors.erase(it);
            else ++it;
        }
    };
    auto use_on = [&](int storage, int b) -> int {
        const int h = m.home_vs[size_t(storage)];
        QUANTA_CHECK(m.vs[size_t(h)].backend >= 0);  // defined before use: graph order
        if (m.vs[size_t(h)].backend == b) return h;
        auto it = mirrors.find({storage, b});
        if (it != mirrors.end()) return it->second;
        VStorage v;
        v.storage = storage;
        v.backend = b;
        v.home = false;
        const int id = int(m.vs.size());
        m.vs.push_back(v);
        Step c;
        c.copy = true;
        c.backend = b;
        c.dst_vs = id;
        c.src_vs[0] = h;
        m.steps.push_back(c);
        mirrors[{storage, b}] = id;
        return id;
    };
    for (int i = 0; i < n_nodes; ++i) {
        const Node & node = graph_.nodes[size_t(i)];
        const int b = node_backend_[size_t(i)];
        Step st;
        st.backend = b;
        st.node = i;
        for (int k = 0; k < node.n_src; ++k) st.src_vs[size_t(k)] = use_on(node.src[size_t(k)].storage, b);
        const int ds = node.dst.storage;
        int write_back_from = -1;
        if (node.defines_dst()) {
            m.vs[size_t(m.home_vs[size_t(ds)])].backend = b;
            st.dst_vs = m.home_vs[size_t(ds)];
        } else if (m.vs[size_t(m.home_vs[size_t(ds)])].backend == b) {
            st.dst_vs = m.home_vs[size_t(ds)];
            drop_mirrors(ds, -1);
        } else {
            st.dst_vs = use_on(ds, b);  // copy in: the op writes only some rows
            write_back_from = st.dst_vs;
        }
        m.steps.push_back(st);
        if (write_back_from >= 0) {
            const int h = m.home_vs[size_t(ds)];
            Step c;
            c.copy = true;
            c.backend = m.vs[size_t(h)].backend;
            c.dst_vs = h;
            c.src_vs[0] = write_back_from;
            m.steps.push_back(c);
            drop_mirrors(ds, b);
        }
    }

    // 3. Lifetimes and the memory plan per backend.
    const int n_steps = int(m.steps.size());
    auto touch = [&](int v, int s) {
        VStorage & x = m.vs[size_t(v)];
        if (x.first < 0) x.first = s;
        x.last = std::max(x.last, s);
    };
    for (int s = 0; s < n_steps; ++s) {
        const Step & st = m.steps[size_t(s)];
        touch(st.dst_vs, s);
        for (int v : st.src_vs) {
            if (v >= 0) touch(v, s);
        }
    }
    for (const Tensor & t : graph_.outputs) touch(m.home_vs[size_t(t.storage)], n_steps - 1);
    m.poison_after.assign(size_t(n_steps), {});
    stats_.planned_peak.assign(stats_.nodes_on.size(), 0);
    stats_.unshared_bytes.assign(stats_.nodes_on.size(), 0);
    for (int b = 0; b < int(stats_.nodes_on.size()); ++b) {
        std::vector<int> ids;
        std::vector<Lifetime> items;
        for (int v = 0; v < int(m.vs.size()); ++v) {
            const VStorage & x = m.vs[size_t(v)];
            const Storage & st = graph_.storages[size_t(x.storage)];
            const bool planned = !(x.home && st.kind == StorageKind::External);
            if (!planned || x.backend != b || x.first < 0) continue;
            ids.push_back(v);
            items.push_back({st.bytes, x.first, x.last});
        }
        const MemoryPlan plan = plan_memory(items, options_.alignment, options_.reuse_memory);
        for (size_t k = 0; k < ids.size(); ++k) {
            VStorage & x = m.vs[size_t(ids[k])];
            x.offset = plan.offsets[k];
            if (!(x.home && graph_.storages[size_t(x.storage)].output)) m.poison_after[size_t(x.last)].push_back(ids[k]);
        }
        stats_.planned_peak[size_t(b)] = plan.peak;
        stats_.unshared_bytes[size_t(b)] = plan.unshared;
        m.peak[size_t(b)] = plan.peak;
    }
    stats_.copies = 0;
    stats_.copy_bytes = 0;
    for (const Step & st : m.steps) {
        if (!st.copy) continue;
        ++stats_.copies;
        stats_.copy_bytes += graph_.storages[size_t(m.vs[size_t(st.dst_vs)].storage)].bytes;
    }
    m.planned = true;
    m.resolved = false;
    return ok_status();
}

Status Executor::resolve() {
    Impl & m = *impl_;
    for (int b = 0; b < int(stats_.nodes_on.size()); ++b) {
        if (m.peak[size_t(b)] == 0) continue;  // nothing planned there (e.g. a gpu with no layers)
        const size_t need = size_t(m.peak[size_t(b)]);
        if (!m.arenas[size_t(b)] || m.arenas[size_t(b)]->size() < need) {
            m.arenas[size_t(b)].reset();
            Result<BufferPtr> buf = m.backends[size_t(b)]->alloc(need);
            if (!buf.ok()) return buf.status().with_context("executor: intermediate arena");
            m.arenas[size_t(b)] = std::move(buf.value());
        }
    }
    auto place = [&](const Tensor & t, int v) {
        const VStorage & x = m.vs[size_t(v)];
        BoundTensor bt;
        bt.type = t.type;
        bt.ne = t.ne;
        bt.nb = t.nb;
        if (x.home && graph_.storages[size_t(x.storage)].kind == StorageKind::External) {
            const Binding & bd = m.bindings[size_t(x.storage)];
            bt.buffer = bd.buffer;
            bt.offset = bd.offset + size_t(t.offset);
        } else {
            bt.buffer = m.arenas[size_t(x.backend)].get();
            bt.offset = size_t(x.offset + t.offset);
        }
        return bt;
    };
    m.groups.clear();
    for (int s = 0; s < int(m.steps.size()); ++s) {
        const Step & st = m.steps[size_t(s)];
        const bool join = !st.copy && !m.groups.empty() && !m.groups.back().copy && m.groups.back().backend == st.backend &&
                          m.groups.back().observed == 0 && !(options_.poison_freed && !m.poison_after[size_t(s - 1)].empty());
        if (!join) {
            Group g;
            g.copy = st.copy;
            g.backend = st.backend;
            g.first_step = s;
            m.groups.push_back(std::move(g));
        }
        Group & g = m.groups.back();
        g.end_step = s + 1;
        if (st.copy) continue;
        const Node & node = graph_.nodes[size_t(st.node)];
        BoundNode bn;
        bn.node = &node;
        bn.dst = place(node.dst, st.dst_vs);
        for (int k = 0; k < node.n_src; ++k) bn.src[size_t(k)] = place(node.src[size_t(k)], st.src_vs[size_t(k)]);
        g.nodes.push_back(bn);
        g.observed = options_.observer ? options_.observer->wants(graph_, st.node) : 0;
    }
    stats_.submissions = 0;
    for (const Group & g : m.groups) stats_.submissions += g.copy ? 0 : 1;
    m.resolved = true;
    return ok_status();
}

Status Executor::prepare() {
    if (!impl_->planned) QUANTA_TRY(plan());
    if (!impl_->resolved) QUANTA_TRY(resolve());
    return ok_status();
}

Status Executor::run() {
    QUANTA_TRY(prepare());
    Impl & m = *impl_;
    auto buffer_of = [&](int v, size_t & off) -> Buffer & {
        const VStorage & x = m.vs[size_t(v)];
        if (x.home && graph_.storages[size_t(x.storage)].kind == StorageKind::External) {
            off = m.bindings[size_t(x.storage)].offset;
            return *m.bindings[size_t(x.storage)].buffer;
        }
        off = size_t(x.offset);
        return *m.arenas[size_t(x.backend)];
    };
    std::vector<char> nan_bytes;
    for (const Group & g : m.groups) {
        if (g.copy) {
            const Step & st = m.steps[size_t(g.first_step)];
            size_t src_off = 0, dst_off = 0;
            Buffer & src = buffer_of(st.src_vs[0], src_off);
            Buffer & dst = buffer_of(st.dst_vs, dst_off);
            const size_t n = size_t(graph_.storages[size_t(m.vs[size_t(st.dst_vs)].storage)].bytes);
            QUANTA_TRY(copy_between(src, src_off, dst, dst_off, n).with_context("executor: copy"));
        } else {
            Status s = m.backends[size_t(g.backend)]->run(g.nodes);
            if (!s.ok()) return s.with_context("executor: " + std::string(m.backends[size_t(g.backend)]->name()));
            if (g.observed != 0) {
                const int node = m.steps[size_t(g.end_step - 1)].node;
                QUANTA_TRY(observe_node(*options_.observer, graph_, node, g.nodes.back(), g.observed));
            }
        }
        if (!options_.poison_freed) continue;
        for (int s = g.first_step; s < g.end_step; ++s) {
            for (int v : m.poison_after[size_t(s)]) {
                size_t off = 0;
                Buffer & buf = buffer_of(v, off);
                const size_t n = size_t(graph_.storages[size_t(m.vs[size_t(v)].storage)].bytes);
                if (nan_bytes.size() < n) nan_bytes.assign(n, char(0xFF));  // NaN in F32, F16 and Q8_0 scales
                QUANTA_TRY(buf.backend().upload(buf, off, nan_bytes.data(), n));
            }
        }
    }
    for (Backend * b : m.backends) {
        if (b) QUANTA_TRY(b->sync());
    }
    return ok_status();
}

Status Executor::write(const Tensor & t, const void * data, size_t bytes) {
    if (!t.valid() || size_t(t.storage) >= graph_.storages.size()) return Status::error("executor: write: invalid tensor");
    const Storage & st = graph_.storages[size_t(t.storage)];
    const Binding & bd = impl_->bindings[size_t(t.storage)];
    if (st.kind != StorageKind::External || !bd.buffer) {
        return Status::error("executor: write: '" + st.name + "' is not a bound input");
    }
    if (!t.is_contiguous() || size_t(t.extent_bytes()) != bytes) {
        return Status::error("executor: write '" + st.name + "': " + std::to_string(bytes) + " bytes for a " +
                             t.shape_str() + " view (must be packed, " + std::to_string(t.extent_bytes()) + " bytes)");
    }
    return bd.buffer->backend().upload(*bd.buffer, bd.offset + size_t(t.offset), data, bytes);
}

Status Executor::read(const Tensor & t, void * data, size_t bytes) {
    if (!t.valid() || size_t(t.storage) >= graph_.storages.size()) return Status::error("executor: read: invalid tensor");
    const Storage & st = graph_.storages[size_t(t.storage)];
    if (!t.is_contiguous() || size_t(t.extent_bytes()) != bytes) {
        return Status::error("executor: read '" + st.name + "': " + std::to_string(bytes) + " bytes for a " +
                             t.shape_str() + " view (must be packed, " + std::to_string(t.extent_bytes()) + " bytes)");
    }
    if (st.kind == StorageKind::External) {
        const Binding & bd = impl_->bindings[size_t(t.storage)];
        if (!bd.buffer) return Status::error("executor: read: '" + st.name + "' is not bound");
        return bd.buffer->backend().download(*bd.buffer, bd.offset + size_t(t.offset), data, bytes);
    }
    if (!st.output) return Status::error("executor: read: '" + st.name + "' is not marked as an output");
    if (!impl_->resolved) return Status::error("executor: read: '" + st.name + "' before the first run");
    const VStorage & x = impl_->vs[size_t(impl_->home_vs[size_t(t.storage)])];
    Buffer & arena = *impl_->arenas[size_t(x.backend)];
    return arena.backend().download(arena, size_t(x.offset + t.offset), data, bytes);
}

}  // namespace quanta::core
