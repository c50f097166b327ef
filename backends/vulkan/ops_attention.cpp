// backends/vulkan/ops_attention.cpp — fused attention (shaders/attention.comp): one workgroup per
// (query, head), online softmax over blocks of keys, K/V in F32, F16 or Q8_0, optional key
// positions (the kpos contract of core/ops.def). One dispatch per node.
#include "backends/vulkan/kernels.h"

namespace quanta::backends::vulkan {

namespace {

using core::Op;

constexpr uint32_t kLocal = 64;
constexpr int64_t kMaxHeadDim = 512;  // shared-memory query row of the shader
constexpr int64_t kMaxPer = 8;        // output dims per invocation: hd_v <= kMaxPer * kLocal

struct AttentionPush {
    uint32_t n_q, n_head, n_head_kv, n_kv;
    uint32_t hd, hd_v, q_first, q_nb1;
    uint32_t q_nb2, k_first, k_nb1, k_nb2;
    uint32_t v_first, v_nb1, v_nb2, pos_first;
    uint32_t kpos_first, d_first, causal;
    int32_t window;
    float scale, softcap;
};

uint32_t kv_code(Type t) { return t == Type::F32 ? 0 : t == Type::F16 ? 1 : 2; }

Status k_attention(const BoundNode & n, Recorder & rec) {
    const core::AttentionParams & prm = n.node->params<core::AttentionParams>();
    const BoundTensor & q = n.src[0];
    const BoundTensor & k = n.src[1];
    const BoundTensor & v = n.src[2];
    const BoundTensor * kpos = optional_src(n, 4);
    if (q.ne[0] > kMaxHeadDim || v.ne[0] > kMaxPer * int64_t(kLocal) || q.ne[3] != 1) {
        return Status::error("vulkan: attention: head dims " + std::to_string(q.ne[0]) + "/" + std::to_string(v.ne[0]) +
                             " (batch " + std::to_string(q.ne[3]) + ") beyond the kernel's 512 / one batch");
    }
    auto vq = rec.read(q);
    auto vk = rec.read(k, 1);
    auto vv = rec.read(v, 1);
    auto vpos = rec.read(n.src[3]);
    auto vkp = rec.read(kpos ? *kpos : n.src[3]);
    auto vd = rec.write(n.dst);
    for (const auto * x : {&vq, &vk, &vv, &vpos, &vkp, &vd}) {
        if (!x->ok()) return Status::error("attention: " + x->status().message());
    }
    AttentionPush p{};
    p.n_q = uint32_t(q.ne[2]);
    p.n_head = uint32_t(q.ne[1]);
    p.n_head_kv = uint32_t(k.ne[1]);
    p.n_kv = uint32_t(k.ne[2]);
    p.hd = uint32_t(q.ne[0]);
    p.hd_v = uint32_t(v.ne[0]);
    p.q_first = vq->first;
    p.q_nb1 = uint32_t(q.nb[1] / 4);
    p.q_nb2 = uint32_t(q.nb[2] / 4);
    p.k_first = vk->first;
    p.k_nb1 = uint32_t(k.nb[1]);
    p.k_nb2 = uint32_t(k.nb[2]);
    p.v_first = vv->first;
    p.v_nb1 = uint32_t(v.nb[1]);
    p.v_nb2 = uint32_t(v.nb[2]);
    p.pos_first = vpos->first;
    p.kpos_first = vkp->first;
    p.d_first = vd->first;
    p.causal = prm.causal ? 1 : 0;
    p.window = prm.window;
    p.scale = prm.scale;
    p.softcap = prm.softcap;
    auto pipe = rec.pipeline("attention", 6, sizeof p, {kLocal, kv_code(k.type), kpos ? 1u : 0u});
    if (!pipe.ok()) return pipe.status();
    uint32_t gx, gy;
    rec.grid_for(uint64_t(p.n_q) * p.n_head, gx, gy);
    return rec.dispatch(**pipe, {*vq, *vk, *vv, *vpos, *vkp, *vd}, &p, gx, gy);
}

}  // namespace

void register_attention(KernelTable & t) {
    for (Type kv : {Type::F32, Type::F16, Type::Q8_0}) t.add(Op::Attention, Type::F32, Type::F32, kv, k_attention);
}

}  // namespace quanta::backends::vulkan
