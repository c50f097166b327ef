// bench/gpu/synth_model.cpp — writes a random-weight .qnt of a real model's shape, for speed
// measurements only (bench/gpu-check.sh runs it on the GPU machine, so nothing large travels).
//
// Speed does not depend on weight values, and quantizing 27B random floats would take minutes, so
// the blocks are random bytes (one 64 MiB pool of xorshift bytes, read at a different offset for
// every tensor) whose fp16 scale fields are overwritten with small sane values: the weights come
// out of order N(0, 0.02), with no inf or NaN anywhere in the activations. Norm weights are F32
// ones. Types: one weight type for every matrix (QT4, QT3, QT2, Q4_K, Q4_0, Q8_0, Q6_K), or Q4_K_M (Q4_K with
// Q6_K for the output matrix and attn_v / ffn_down, as llama.cpp's Q4_K_M). A matrix whose rows the
// type's block does not divide (the QT types need 512) takes Q8_0 instead. Metadata: the architecture's
// hyperparameters (core/arch) and a synthetic SentencePiece-style vocabulary of the model's size
// (<unk> <s> </s>, the 256 byte tokens, then distinct pieces), so `quanta bench` loads the file.
// Prints the matrix parameter count (for TFLOP/s) and the file size as one JSON line.
//
// Usage: synth_model SHAPE TYPE OUT.qnt      SHAPE: llama3-8b | gemma2-27b | tiny | tiny-gemma2 (tiny: self-tests)
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/arch/hparams.h"
#include "core/arch/tensors.h"
#include "core/tensor.h"
#include "core/text/tokenizer_data.h"
#include "formats/qnt.h"
#include "quant/fp.h"
#include "quant/types.h"

using namespace quanta;

namespace {

Result<arch::HParams> shape(const std::string & name) {
    arch::HParams hp;
    if (name == "llama3-8b" || name == "tiny") {
        hp.arch = arch::Arch::Llama;
        hp.n_vocab = 128256;
        hp.n_embd = 4096;
        hp.n_layer = 32;
        hp.n_head = 32;
        hp.n_head_kv = 8;
        hp.head_dim = 128;
        hp.n_ff = 14336;
        hp.n_ctx_train = 8192;
        hp.norm_eps = 1e-5f;
        hp.rope.base = 500000.0f;
        if (name == "tiny") {  // the same code paths at a size that writes in a second (script self-test)
            hp.n_vocab = 4096;
            hp.n_embd = 512;
            hp.n_layer = 2;
            hp.n_head = 8;
            hp.n_head_kv = 2;
            hp.head_dim = 64;
            hp.n_ff = 1536;
        }
    } else if (name == "gemma2-27b" || name == "tiny-gemma2") {
        // Gemma 2 27B as released: query_pre_attn_scalar 144, soft-caps 50 / 30, window 4096 on
        // every other layer (the first sliding), tied embeddings, GELU-tanh.
        hp.arch = arch::Arch::Gemma2;
        hp.n_vocab = 256000;
        hp.n_embd = 4608;
        hp.n_layer = 46;
        hp.n_head = 32;
        hp.n_head_kv = 16;
        hp.head_dim = 128;
        hp.n_ff = 36864;
        hp.n_ctx_train = 8192;
        hp.norm_eps = 1e-6f;
        hp.norm_offset = 1.0f;
        hp.activation = arch::Activation::GeluTanh;
        hp.embd_scale = std::sqrt(4608.0f);
        hp.query_scale = 1.0f / 12.0f;
        hp.attn_softcap = 50.0f;
        hp.final_softcap = 30.0f;
        hp.sliding_window = 4096;
        hp.layer_sliding.assign(size_t(hp.n_layer), 0);
        for (size_t il = 0; il < hp.layer_sliding.size(); il += 2) hp.layer_sliding[il] = 1;
        hp.rope_local = hp.rope;
        if (name == "tiny-gemma2") {
            hp.n_vocab = 4096;
            hp.n_embd = 1024;
            hp.n_layer = 4;
            hp.n_head = 4;
            hp.n_head_kv = 2;
            hp.n_ff = 2048;
            hp.sliding_window = 16;
            hp.layer_sliding.assign(size_t(hp.n_layer), 0);
            for (size_t il = 0; il < hp.layer_sliding.size(); il += 2) hp.layer_sliding[il] = 1;
        }
    } else {
        return Status::error("synth_model: unknown shape '" + name + "' (llama3-8b, gemma2-27b, tiny, tiny-gemma2)");
    }
    if (hp.query_scale == 0.0f) hp.query_scale = 1.0f / std::sqrt(float(hp.head_dim));
    hp.n_rot = hp.head_dim;
    QUANTA_TRY(hp.validate());
    return hp;
}

// Where a block's fp16 scales sit and which value gives weights of about N(0, 0.02) for uniformly
// random quant bytes (levels of |q| ~ 4.6 for 4-bit, ~74 for 8-bit; K-quant 6-bit scales ~32).
struct ScaleField {
    int offset;
    float value;
};

std::vector<ScaleField> scale_fields(Type t) {
    switch (t) {
        case Type::Q8_0: return {{0, 0.02f / 74}};
        case Type::Q4_0: return {{0, 0.02f / 4.6f}};
        case Type::Q4_K: return {{0, 0.02f / (32 * 4.6f)}, {2, 0.02f / (32 * 8)}};
        case Type::Q6_K: return {{208, 0.02f / (74 * 18)}};
        case Type::QT4: return {{0, 0.02f / (32 * 60)}};  // 6-bit magnitudes ~32, grid values ~60
        case Type::QT3: return {{0, 0.02f / (32 * 70)}};  // the same header; 8-level grid values ~70
        case Type::QT2: return {{0, 0.02f / (32 * 80)}};  // d first too; 4-level grid values ~80
        default: return {};
    }
}

// One pool of random bytes, reused at shifting offsets (speed does not depend on values).
std::vector<uint8_t> make_pool(size_t bytes) {
    std::vector<uint8_t> pool(bytes);
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i + 8 <= bytes; i += 8) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        std::memcpy(&pool[i], &s, 8);
    }
    return pool;
}

Status write_matrix(formats::QntWriter & w, const arch::TensorSpec & spec, Type type, const std::vector<uint8_t> & pool,
                    size_t & pool_pos) {
    QUANTA_TRY(w.begin_tensor(spec.name, type, spec.ne));
    const size_t row = core::type_row_bytes(type, spec.ne[0]);
    int64_t rows = 1;
    for (size_t i = 1; i < spec.ne.size(); ++i) rows *= spec.ne[i];
    const size_t block = core::type_block_bytes(type);
    const std::vector<ScaleField> fields = scale_fields(type);
    std::vector<uint16_t> halves;
    for (const ScaleField & f : fields) halves.push_back(quant::fp32_to_fp16(f.value));
    // Chunks of whole blocks (rows are whole blocks) of at most ~32 MiB.
    const size_t chunk = std::max<size_t>(block, (size_t(32) << 20) / block * block);
    std::vector<uint8_t> buf(chunk);
    const size_t total = row * size_t(rows);
    for (size_t done = 0; done < total; done += chunk) {
        const size_t n = std::min(chunk, total - done);
        for (size_t i = 0; i < n;) {  // copy from the pool, wrapping
            const size_t take = std::min(n - i, pool.size() - pool_pos);
            std::memcpy(buf.data() + i, pool.data() + pool_pos, take);
            i += take;
            pool_pos = (pool_pos + take) % pool.size();
        }
        for (size_t b = 0; b < n; b += block) {
            for (size_t f = 0; f < fields.size(); ++f) std::memcpy(buf.data() + b + size_t(fields[f].offset), &halves[f], 2);
        }
        QUANTA_TRY(w.write_tensor_data(buf.data(), n));
    }
    pool_pos = (pool_pos + 4099) % pool.size();
    return w.end_tensor();
}

text::TokenizerData vocabulary(int64_t n_vocab) {
    text::TokenizerData t;
    t.model = text::ModelKind::kSpmBpe;
    auto add = [&](std::string piece, text::TokenType type) {
        t.pieces.push_back(std::move(piece));
        t.scores.push_back(0.0f);
        t.token_types.push_back(type);
    };
    add("<unk>", text::TokenType::kUnknown);
    add("<s>", text::TokenType::kControl);
    add("</s>", text::TokenType::kControl);
    for (int b = 0; b < 256; ++b) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "<0x%02X>", b);
        add(hex, text::TokenType::kByte);
    }
    for (int64_t i = int64_t(t.pieces.size()); i < n_vocab; ++i) add("\xE2\x96\x81w" + std::to_string(i), text::TokenType::kNormal);
    t.byte_fallback = true;
    t.unk_id = 0;
    t.bos_id = 1;
    t.eos_id = 2;
    t.add_bos = true;
    return t;
}

Type type_for(const arch::TensorSpec & spec, const std::string & mix, Type base) {
    Type t = base;
    if (mix == "Q4_K_M") {
        const bool more_bits = spec.name == "output.weight" || spec.name.find("attn_v") != std::string::npos ||
                               spec.name.find("ffn_down") != std::string::npos;
        t = more_bits ? Type::Q6_K : Type::Q4_K;
    }
    if (spec.ne[0] % core::type_block_size(t) != 0) t = Type::Q8_0;
    return t;
}

Status run(const std::string & shape_name, const std::string & type_name, const std::string & out) {
    auto hp = shape(shape_name);
    if (!hp.ok()) return hp.status();
    Type base = Type::Q4_K;
    if (type_name != "Q4_K_M") {
        auto t = quant::type_from_name(type_name);
        if (!t || scale_fields(*t).empty()) {
            return Status::error("synth_model: type '" + type_name + "' is not one of QT4, QT3, QT2, Q4_K, Q4_K_M, Q4_0, Q8_0, Q6_K");
        }
        base = *t;
    }
    auto w = formats::QntWriter::create(out);
    if (!w.ok()) return w.status();
    QUANTA_TRY(arch::write_hparams(*w, *hp));
    QUANTA_TRY(w->add_string("general.name", "synthetic " + shape_name + " " + type_name + " (random weights)"));
    const text::FlatMetadata flat = text::tokenizer_to_flat(vocabulary(hp->n_vocab));
    for (const auto & [key, v] : flat.strings) QUANTA_TRY(w->add_array(key, std::span<const std::string>(v)));
    for (const auto & [key, v] : flat.f32) QUANTA_TRY(w->add_array(key, std::span<const float>(v)));
    for (const auto & [key, v] : flat.i32) QUANTA_TRY(w->add_array(key, std::span<const int32_t>(v)));

    const std::vector<uint8_t> pool = make_pool(size_t(64) << 20);
    size_t pool_pos = 0;
    int64_t matrix_params = 0, embd_params = 0;
    uint64_t bytes = 0;
    const bool tied = hp->arch == arch::Arch::Gemma2;
    for (const arch::TensorSpec & spec : arch::tensor_specs(*hp)) {
        if (spec.optional && (tied || spec.name != "output.weight")) continue;
        int64_t n = 1;
        for (int64_t e : spec.ne) n *= e;
        if (spec.ne.size() == 1) {
            std::vector<float> ones(size_t(n), spec.role == arch::TensorRole::Norm && hp->norm_offset != 0.0f ? 0.0f : 1.0f);
            QUANTA_TRY(w->add_tensor(spec.name, Type::F32, spec.ne, ones.data(), uint64_t(n) * 4));
            bytes += uint64_t(n) * 4;
            continue;
        }
        const Type t = type_for(spec, type_name, base);
        QUANTA_TRY(write_matrix(*w, spec, t, pool, pool_pos));
        bytes += core::type_row_bytes(t, spec.ne[0]) * uint64_t(n / spec.ne[0]);
        if (spec.name == "token_embd.weight") embd_params += n;
        else matrix_params += n;
    }
    if (tied) matrix_params += embd_params;  // the tied embedding is also the output matmul
    QUANTA_TRY(w->finish());
    std::printf("{\"shape\": \"%s\", \"type\": \"%s\", \"matmul_params\": %lld, \"n_layer\": %lld, \"bytes\": %llu}\n",
                shape_name.c_str(), type_name.c_str(), (long long)matrix_params, (long long)hp->n_layer,
                (unsigned long long)bytes);
    return ok_status();
}

}  // namespace

int main(int argc, char ** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: synth_model SHAPE TYPE OUT.qnt   (SHAPE: llama3-8b | gemma2-27b | tiny | tiny-gemma2; "
                             "TYPE: QT4 | QT3 | QT2 | Q4_K | Q4_K_M | Q4_0 | Q8_0 | Q6_K)\n");
        return 2;
    }
    const auto t0 = std::chrono::steady_clock::now();
    Status s = run(argv[1], argv[2], argv[3]);
    if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.message().c_str());
        return 1;
    }
    std::fprintf(stderr, "synth_model: %s in %.1f s\n", argv[3],
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return 0;
}
