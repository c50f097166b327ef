// `quanta inspect FILE [--verify] [--json]`: what a model file holds, for .qnt, GGUF and safetensors
// (a file, a sharded checkpoint's index, or a Hugging Face directory).
//
// The summary shows the architecture, hyperparameters, tokenizer size and chat template, other
// metadata with long arrays cut short, then one line per tensor (name, type, shape with dim 0
// first, bytes, bits per weight) and totals. --verify checks .qnt checksums on all cores and exits
// 1 naming each bad tensor (GGUF and safetensors carry no checksums: their structure is validated
// at open). --json prints the same facts as one JSON object for scripts.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "examples/quanta/commands.h"
#include "formats/gguf.h"
#include "formats/qnt.h"
#include "formats/safetensors.h"

namespace quanta::cli {

namespace {

using namespace quanta::formats;
using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr size_t kShownItems = 6;    // array items shown in the text summary
constexpr size_t kJsonItems = 32;    // array items kept in --json before summarising
constexpr size_t kShownString = 70;  // string characters shown in the text summary

struct Opened {
    std::string format, version;
    uint64_t file_bytes = 0;
    std::optional<QntReader> qnt;
    std::optional<GgufReader> gguf;
    std::optional<SafetensorsModel> st;
    std::vector<std::pair<std::string, std::string>> st_meta;  // safetensors __metadata__ / index
    json config, tokenizer_config;                             // HF directory files, when present
    int64_t hf_vocab = -1;                                     // tokenizer.json vocabulary size
    bool hf_chat_template = false;

    // Looked up on each call: the readers live inside this object, which moves.
    const Metadata * metadata() const { return qnt ? &qnt->metadata() : gguf ? &gguf->metadata() : nullptr; }
    const std::vector<TensorView> & tensors() const {
        return qnt ? qnt->tensors() : gguf ? gguf->tensors() : st->tensors();
    }
};

std::string read_magic(const std::string & path) {
    char m[4] = {};
    std::ifstream f(path, std::ios::binary);
    f.read(m, 4);
    return f.gcount() == 4 ? std::string(m, 4) : std::string();
}

json load_json_file(const fs::path & p) {
    std::ifstream f(p);
    if (!f.good()) return json();
    return json::parse(f, nullptr, false);  // a discarded value on error: shown as absent
}

// Reads config.json, tokenizer.json and tokenizer_config.json beside a safetensors checkpoint.
void load_hf_sidecars(Opened & o, const fs::path & dir) {
    o.config = load_json_file(dir / "config.json");
    o.tokenizer_config = load_json_file(dir / "tokenizer_config.json");
    json tok = load_json_file(dir / "tokenizer.json");
    if (tok.is_object() && tok.contains("model") && tok["model"].is_object() && tok["model"].contains("vocab")) {
        o.hf_vocab = int64_t(tok["model"]["vocab"].size());
        if (tok.contains("added_tokens") && tok["added_tokens"].is_array()) {
            for (const auto & t : tok["added_tokens"])
                if (t.is_object() && t.contains("content") && t["content"].is_string() &&
                    !tok["model"]["vocab"].contains(t["content"].get<std::string>()))
                    ++o.hf_vocab;
        }
    }
    o.hf_chat_template = (o.tokenizer_config.is_object() && o.tokenizer_config.contains("chat_template")) ||
                         fs::exists(dir / "chat_template.jinja") || fs::exists(dir / "chat_template.json");
}

Result<Opened> open_any(const std::string & path) {
    Opened o;
    std::error_code ec;
    const bool is_dir = fs::is_directory(path, ec);
    const std::string magic = is_dir ? std::string() : read_magic(path);
    if (magic == std::string(kQntMagic, 4)) {
        auto r = QntReader::open(path);
        if (!r.ok()) return r.status();
        o.qnt.emplace(std::move(*r));
        o.format = "qnt";
        o.version = std::to_string(o.qnt->version_major()) + "." + std::to_string(o.qnt->version_minor());
        o.file_bytes = o.qnt->file_size();
    } else if (magic == "GGUF") {
        auto r = GgufReader::open(path);
        if (!r.ok()) return r.status();
        o.gguf.emplace(std::move(*r));
        o.format = "gguf";
        o.version = std::to_string(o.gguf->version());
        o.file_bytes = o.gguf->file_size();
    } else if (is_dir || path.ends_with(".json") || path.ends_with(".safetensors")) {
        auto r = SafetensorsModel::open(path);
        if (!r.ok()) return r.status();
        o.st.emplace(std::move(*r));
        o.format = "safetensors";
        o.version = std::to_string(o.st->shards().size()) + (o.st->shards().size() == 1 ? " file" : " shards");
        for (const auto & s : o.st->shards()) o.file_bytes += s.file_size();
        o.st_meta = o.st->metadata();
        load_hf_sidecars(o, is_dir ? fs::path(path) : fs::path(path).parent_path());
    } else {
        if (!fs::exists(path, ec)) return Status::error("inspect: '" + path + "': no such file or directory");
        return Status::error("inspect: '" + path + "': not a .qnt, GGUF or safetensors file (unknown magic)");
    }
    return o;
}

// ---- value rendering -------------------------------------------------------------------------

std::string cut(std::string_view s, size_t n) {
    std::string out;
    for (char c : s.substr(0, n)) {
        if (c == '\n')
            out += "\\n";
        else if (c == '\t')
            out += "\\t";
        else if (static_cast<unsigned char>(c) < 0x20)
            out += '?';
        else
            out += c;
    }
    if (s.size() > n) out += "...";
    return out;
}

std::string scalar_text(ValueType t, uint64_t bits) {
    Value v;
    v.type = t;
    v.scalar = bits;
    char buf[64];
    switch (t) {
        case ValueType::F32:
        case ValueType::F64:
            std::snprintf(buf, sizeof buf, "%.9g", v.as_double());
            return buf;
        case ValueType::Bool:
            return bits ? "true" : "false";
        case ValueType::U8:
        case ValueType::U16:
        case ValueType::U32:
        case ValueType::U64:
            return std::to_string(bits);
        default:
            return std::to_string(v.as_int());
    }
}

uint64_t element_bits(const Value & v, uint64_t i) {
    uint64_t bits = 0;
    const size_t s = value_type_size(v.elem_type);
    std::memcpy(&bits, v.raw + i * s, s);
    return bits;
}

std::string value_text(const Value & v) {
    if (v.type == ValueType::String)
        return "\"" + cut(v.str, kShownString) + "\"" +
               (v.str.size() > kShownString ? " (" + std::to_string(v.str.size()) + " bytes)" : "");
    if (v.type != ValueType::Array) return scalar_text(v.type, v.scalar);
    std::string out = "[" + std::to_string(v.count) + " x " + value_type_name(v.elem_type) + "]";
    if (v.count == 0) return out;
    out += " ";
    for (uint64_t i = 0; i < std::min<uint64_t>(v.count, kShownItems); ++i) {
        if (i) out += ", ";
        if (v.elem_type == ValueType::String)
            out += "\"" + cut(v.strings[i], 24) + "\"";
        else if (v.elem_type == ValueType::Array)
            out += value_text(v.items[i]);
        else
            out += scalar_text(v.elem_type, element_bits(v, i));
    }
    if (v.count > kShownItems) out += ", ...";
    return out;
}

json scalar_json(ValueType t, uint64_t bits) {
    Value v;
    v.type = t;
    v.scalar = bits;
    switch (t) {
        case ValueType::F32:
        case ValueType::F64:
            return v.as_double();
        case ValueType::Bool:
            return bits != 0;
        case ValueType::U8:
        case ValueType::U16:
        case ValueType::U32:
        case ValueType::U64:
            return bits;
        default:
            return v.as_int();
    }
}

// Strings are bytes in these formats; JSON needs UTF-8, so invalid ones are shown escaped.
json string_json(std::string_view s) {
    return valid_utf8(s) ? json(std::string(s)) : json(printable(s));
}

json value_json(const Value & v) {
    if (v.type == ValueType::String) return string_json(v.str);
    if (v.type != ValueType::Array) return scalar_json(v.type, v.scalar);
    json items = json::array();
    for (uint64_t i = 0; i < std::min<uint64_t>(v.count, kJsonItems); ++i) {
        if (v.elem_type == ValueType::String)
            items.push_back(string_json(v.strings[i]));
        else if (v.elem_type == ValueType::Array)
            items.push_back(value_json(v.items[i]));
        else
            items.push_back(scalar_json(v.elem_type, element_bits(v, i)));
    }
    if (v.count <= kJsonItems) return items;
    return json{{"array_of", value_type_name(v.elem_type)}, {"count", v.count}, {"head", items}};
}

// ---- facts shared by the text and JSON outputs ------------------------------------------------

struct Facts {
    std::string architecture;
    int64_t vocab = -1;
    bool chat_template = false;
    uint64_t chat_template_bytes = 0;
};

Facts gather(const Opened & o) {
    Facts f;
    if (o.metadata()) {
        if (auto a = o.metadata()->get_string("general.architecture"); a.ok()) f.architecture = std::string(*a);
        if (auto n = o.metadata()->get_array_size("tokenizer.ggml.tokens"); n.ok()) f.vocab = int64_t(*n);
        if (auto t = o.metadata()->get_string("tokenizer.chat_template"); t.ok()) {
            f.chat_template = true;
            f.chat_template_bytes = t->size();
        }
    } else {
        if (o.config.is_object()) {
            if (o.config.contains("architectures") && o.config["architectures"].is_array() &&
                !o.config["architectures"].empty() && o.config["architectures"][0].is_string())
                f.architecture = o.config["architectures"][0].get<std::string>();
            else if (o.config.contains("model_type") && o.config["model_type"].is_string())
                f.architecture = o.config["model_type"].get<std::string>();
        }
        f.vocab = o.hf_vocab;
        f.chat_template = o.hf_chat_template;
    }
    return f;
}

std::string shape_text(const TensorView & t) {
    std::string s = "[";
    for (uint32_t d = 0; d < std::max<uint32_t>(t.n_dims, 1); ++d) s += (d ? ", " : "") + std::to_string(t.ne[d]);
    return s + "]";
}

double bpw(uint64_t bytes, int64_t n) {
    return n > 0 ? 8.0 * double(bytes) / double(n) : 0.0;
}

std::string human_bytes(uint64_t b) {
    char buf[32];
    if (b >= (1ull << 30))
        std::snprintf(buf, sizeof buf, "%.2f GiB", double(b) / double(1ull << 30));
    else if (b >= (1ull << 20))
        std::snprintf(buf, sizeof buf, "%.1f MiB", double(b) / double(1ull << 20));
    else if (b >= 1024)
        std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024.0);
    else
        std::snprintf(buf, sizeof buf, "%llu B", (unsigned long long)b);
    return buf;
}

struct TypeTotal {
    uint64_t tensors = 0, bytes = 0;
    int64_t params = 0;
};

void print_text(const std::string & path, const Opened & o, const Facts & f,
                const std::optional<std::vector<std::string>> & bad) {
    std::printf("%s: %s %s, %s\n", path.c_str(), o.format.c_str(), o.version.c_str(),
                human_bytes(o.file_bytes).c_str());
    std::printf("architecture:  %s\n", f.architecture.empty() ? "(not recorded)" : f.architecture.c_str());
    std::printf("tokenizer:     %s\n", f.vocab >= 0 ? (std::to_string(f.vocab) + " tokens").c_str() : "(none)");
    std::printf("chat template: %s\n",
                f.chat_template
                    ? (f.chat_template_bytes ? ("present (" + std::to_string(f.chat_template_bytes) + " bytes)").c_str()
                                             : "present")
                    : "absent");
    if (o.metadata()) {
        const std::string prefix = f.architecture + ".";
        std::printf("\nhyperparameters:\n");
        for (const auto & [k, v] : o.metadata()->entries())
            if (!f.architecture.empty() && k.starts_with(prefix))
                std::printf("  %-44s %s\n", std::string(k).c_str(), value_text(v).c_str());
        std::printf("\nmetadata:\n");
        for (const auto & [k, v] : o.metadata()->entries())
            if (f.architecture.empty() || !k.starts_with(prefix))
                std::printf("  %-44s %s\n", printable(k).c_str(), value_text(v).c_str());
    } else {
        if (o.config.is_object()) {
            std::printf("\nconfig.json:\n");
            for (auto it = o.config.begin(); it != o.config.end(); ++it)
                if (!it->is_object())
                    std::printf("  %-44s %s\n", it.key().c_str(), cut(it->dump(), kShownString).c_str());
        }
        if (!o.st_meta.empty()) {
            std::printf("\nmetadata:\n");
            for (const auto & [k, v] : o.st_meta)
                std::printf("  %-44s %s\n", cut(k, 44).c_str(), cut(v, kShownString).c_str());
        }
    }
    std::printf("\n%-48s %-6s %-24s %14s %7s\n", "tensor", "type", "shape (ne0 first)", "bytes", "bpw");
    std::map<std::string, TypeTotal> by_type;
    TypeTotal all;
    for (const auto & t : o.tensors()) {
        std::printf("%-48s %-6s %-24s %14llu %7.3f\n", printable(t.name).c_str(), type_name(t.type),
                    shape_text(t).c_str(), (unsigned long long)t.size, bpw(t.size, t.n_elements()));
        auto & tt = by_type[type_name(t.type)];
        ++tt.tensors;
        tt.bytes += t.size;
        tt.params += t.n_elements();
        ++all.tensors;
        all.bytes += t.size;
        all.params += t.n_elements();
    }
    std::printf("\ntotal: %llu tensors, %lld parameters, %s, %.3f bits per weight\n", (unsigned long long)all.tensors,
                (long long)all.params, human_bytes(all.bytes).c_str(), bpw(all.bytes, all.params));
    for (const auto & [name, tt] : by_type)
        std::printf("  %-6s %5llu tensors %14lld parameters %12s\n", name.c_str(), (unsigned long long)tt.tensors,
                    (long long)tt.params, human_bytes(tt.bytes).c_str());
    if (bad && o.qnt) {
        if (bad->empty())
            std::printf("\nverify: all %zu checksums match\n", o.tensors().size());
        else
            for (const auto & n : *bad) std::printf("\nverify: tensor '%s' fails its checksum", printable(n).c_str());
        if (!bad->empty()) std::printf("\n");
    }
}

json to_json(const std::string & path, const Opened & o, const Facts & f,
             const std::optional<std::vector<std::string>> & bad) {
    json j;
    j["path"] = path;
    j["format"] = o.format;
    j["version"] = o.version;
    j["file_bytes"] = o.file_bytes;
    j["architecture"] = f.architecture;
    j["vocab_size"] = f.vocab;
    j["chat_template"] = f.chat_template;
    json meta = json::object();
    if (o.metadata()) {
        for (const auto & [k, v] : o.metadata()->entries()) meta[printable(k)] = value_json(v);
    } else {
        for (const auto & [k, v] : o.st_meta) meta[k] = string_json(v);
        if (o.config.is_object()) j["config"] = o.config;
    }
    j["metadata"] = meta;
    json tensors = json::array();
    uint64_t total_bytes = 0;
    int64_t total_params = 0;
    for (const auto & t : o.tensors()) {
        json ne = json::array();
        for (uint32_t d = 0; d < std::max<uint32_t>(t.n_dims, 1); ++d) ne.push_back(t.ne[d]);
        json e{{"name", string_json(t.name)}, {"type", type_name(t.type)},         {"ne", ne}, {"bytes", t.size},
               {"offset", t.offset},          {"bpw", bpw(t.size, t.n_elements())}};
        if (o.format == "safetensors") e["shard"] = t.shard;
        tensors.push_back(std::move(e));
        total_bytes += t.size;
        total_params += t.n_elements();
    }
    j["tensors"] = tensors;
    j["totals"] = {{"tensors", o.tensors().size()},
                   {"parameters", total_params},
                   {"bytes", total_bytes},
                   {"bpw", bpw(total_bytes, total_params)}};
    if (bad) j["verify"] = {{"checked", o.format == "qnt"}, {"bad_tensors", *bad}};
    return j;
}

}  // namespace

void add_inspect_command(CLI::App & app) {
    struct Options {
        std::string path;
        bool verify = false, as_json = false;
        int threads = 0;
    };
    auto opt = std::make_shared<Options>();
    CLI::App * sub = app.add_subcommand("inspect", "Show what a .qnt, GGUF or safetensors model holds");
    sub->add_option("file", opt->path, "A .qnt or .gguf file, a .safetensors file, an index.json, or a HF directory")
        ->required();
    sub->add_flag("--verify", opt->verify, "Check every tensor's checksum (.qnt); exit 1 naming each bad tensor");
    sub->add_flag("--json", opt->as_json, "Print one JSON object instead of the summary");
    sub->add_option("--threads", opt->threads, "Threads for --verify (0: all cores)");
    on_run(sub, [opt] {
        auto opened = open_any(opt->path);
        if (!opened.ok()) return report(opened.status());
        const Opened & o = *opened;
        const Facts f = gather(o);
        std::optional<std::vector<std::string>> bad;
        double verify_s = 0;
        if (opt->verify) {
            const auto t0 = std::chrono::steady_clock::now();
            bad = o.qnt ? o.qnt->verify(opt->threads) : std::vector<std::string>{};
            verify_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        }
        if (opt->as_json) {
            std::printf("%s\n", to_json(opt->path, o, f, bad).dump(1).c_str());
        } else {
            print_text(opt->path, o, f, bad);
            if (opt->verify && o.qnt && bad->empty()) {
                uint64_t bytes = 0;
                for (const auto & t : o.tensors()) bytes += t.size;
                std::printf("verify: %s in %.3f s (%.2f GB/s)\n", human_bytes(bytes).c_str(), verify_s,
                            verify_s > 0 ? double(bytes) / verify_s / 1e9 : 0.0);
            } else if (opt->verify && !o.qnt) {
                std::printf(
                    "\nverify: %s carries no checksums; its structure (offsets, sizes, overlaps) was validated at "
                    "open\n",
                    o.format.c_str());
            }
        }
        if (bad && !bad->empty()) {
            std::string names;
            for (const auto & n : *bad) names += (names.empty() ? "'" : ", '") + printable(n) + "'";
            return report(Status::error("verify: " + std::to_string(bad->size()) +
                                        " tensor(s) fail their checksum in '" + opt->path + "': " + names));
        }
        return 0;
    });
}

}  // namespace quanta::cli
