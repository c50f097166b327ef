// bench/text/bench_tokenizer.cpp — tokenizer throughput, MB of UTF-8 text per second on one core.
//
// usage: bench_tokenizer [--text FILE] [--mb N] [--gguf FILE] [TOKENIZER_DIR...]
// Without directories it runs the fixture tokenizers of tests/fixtures/text (both families);
// --gguf adds a GGUF's own tokenizer (e.g. the real Gemma 3, 262k pieces). The text defaults to
// the English license texts of /usr/share/common-licenses (about 0.26 MB; --mb N repeats them to
// N MB, which flatters the word cache), fed one
// line (paragraph) at a time as a caller would. Reports encode and decode MB/s (best of 3) and
// tokens per byte; "cpu" divides by this thread's CPU time (robust on a busy machine).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/text/tokenizer.h"
#include "core/text/tokenizer_metadata.h"
#include "formats/gguf.h"

using namespace quanta;
using namespace quanta::text;

#ifndef QUANTA_SOURCE_DIR
#define QUANTA_SOURCE_DIR "."
#endif

static std::string read_all(const std::string & path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

static std::vector<std::string> make_lines(const std::string & text_file, double mb) {
    std::string text;
    if (!text_file.empty()) {
        text = read_all(text_file);
    } else {
        std::vector<std::string> names;
        for (const auto & e : std::filesystem::directory_iterator("/usr/share/common-licenses"))
            if (e.is_regular_file()) names.push_back(e.path().string());
        std::sort(names.begin(), names.end());
        for (const auto & n : names) text += read_all(n);
    }
    if (text.empty()) text = "The quick brown fox jumps over the lazy dog.\n";
    std::string all;
    const size_t want = mb > 0 ? static_cast<size_t>(mb * 1024 * 1024) : text.size();
    while (all.size() < want) all += text;
    all.resize(want);
    // Paragraph-sized requests (split on blank lines), as prompts arrive.
    std::vector<std::string> lines;
    size_t prev = 0;
    for (size_t p = all.find("\n\n"); p != std::string::npos; p = all.find("\n\n", p + 2)) {
        lines.push_back(all.substr(prev, p + 2 - prev));
        prev = p + 2;
    }
    if (prev < all.size()) lines.push_back(all.substr(prev));
    return lines;
}

// CPU time of this thread: on a shared machine it measures the work, not the waiting.
static double thread_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Each repetition builds a fresh Tokenizer, so its per-thread word cache starts cold.
static void bench(const std::string & name, const TokenizerData & data, const std::vector<std::string> & lines) {
    size_t bytes = 0;
    for (const auto & l : lines) bytes += l.size();
    double best_enc = 1e30, best_dec = 1e30, cpu_enc = 1e30, cpu_dec = 1e30;
    size_t n_tokens = 0;
    std::vector<std::vector<int32_t>> ids(lines.size());
    int32_t n_vocab = 0;
    for (int rep = 0; rep < 3; ++rep) {
        auto made = Tokenizer::create(data);
        if (!made.ok()) { std::fprintf(stderr, "%s\n", made.status().message().c_str()); return; }
        const Tokenizer & tok = made.value();
        n_vocab = tok.n_vocab();
        const double c0 = thread_seconds();
        auto t0 = std::chrono::steady_clock::now();
        n_tokens = 0;
        for (size_t i = 0; i < lines.size(); ++i) {
            ids[i] = tok.encode(lines[i]);
            n_tokens += ids[i].size();
        }
        auto t1 = std::chrono::steady_clock::now();
        const double c1 = thread_seconds();
        size_t out_bytes = 0;
        for (const auto & v : ids) out_bytes += tok.decode(v).size();
        auto t2 = std::chrono::steady_clock::now();
        const double c2 = thread_seconds();
        cpu_enc = std::min(cpu_enc, c1 - c0);
        cpu_dec = std::min(cpu_dec, c2 - c1);
        if (out_bytes == 0) std::printf("(empty decode)\n");
        best_enc = std::min(best_enc, std::chrono::duration<double>(t1 - t0).count());
        best_dec = std::min(best_dec, std::chrono::duration<double>(t2 - t1).count());
    }
    const double mb = static_cast<double>(bytes) / (1024.0 * 1024.0);
    std::printf("%-20s vocab %7d  encode %6.1f MB/s (cpu %6.1f)  decode %6.1f MB/s (cpu %6.1f)  %.3f tokens/byte\n", name.c_str(),
                n_vocab, mb / best_enc, mb / cpu_enc, mb / best_dec, mb / cpu_dec, static_cast<double>(n_tokens) / static_cast<double>(bytes));
}

int main(int argc, char ** argv) {
    std::string text_file, gguf;
    double mb = 0.0;  // 0: the text once, unrepeated
    std::vector<std::string> dirs;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--text" && i + 1 < argc) text_file = argv[++i];
        else if (a == "--mb" && i + 1 < argc) mb = std::atof(argv[++i]);
        else if (a == "--gguf" && i + 1 < argc) gguf = argv[++i];
        else dirs.push_back(a);
    }
    if (dirs.empty() && gguf.empty()) {
        for (const char * n : {"bytelevel_llama3", "bytelevel_gpt2", "bytelevel_qwen2", "spm_llama2", "spm_metaspace", "spm_gemma"})
            dirs.push_back(std::string(QUANTA_SOURCE_DIR) + "/tests/fixtures/text/" + n);
    }
    const auto lines = make_lines(text_file, mb);
    size_t total = 0;
    for (const auto & l : lines) total += l.size();
    std::printf("text: %zu requests, %.2f MB, one thread, cold word cache per repetition\n", lines.size(), static_cast<double>(total) / (1024.0 * 1024.0));
    for (const auto & d : dirs) {
        auto data = load_hf_tokenizer_dir(d);
        if (!data.ok()) { std::fprintf(stderr, "%s\n", data.status().message().c_str()); return 1; }
        bench(std::filesystem::path(d).filename().string(), data.value(), lines);
    }
    if (!gguf.empty()) {
        auto r = formats::GgufReader::open(gguf);
        if (!r.ok()) { std::fprintf(stderr, "%s\n", r.status().message().c_str()); return 1; }
        auto t0 = std::chrono::steady_clock::now();
        auto data = tokenizer_from_metadata(r->metadata());
        if (!data.ok()) { std::fprintf(stderr, "%s\n", data.status().message().c_str()); return 1; }
        auto tok = Tokenizer::create(data.value());
        if (!tok.ok()) { std::fprintf(stderr, "%s\n", tok.status().message().c_str()); return 1; }
        auto t1 = std::chrono::steady_clock::now();
        std::printf("gguf tokenizer built in %.2f s\n", std::chrono::duration<double>(t1 - t0).count());
        bench(std::filesystem::path(gguf).stem().string(), data.value(), lines);
    }
    return 0;
}
