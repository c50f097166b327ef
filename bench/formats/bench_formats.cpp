// bench/formats/bench_formats.cpp — how long opening a .qnt takes as the file grows, and how fast
// verify() checks checksums.
//
// Open: synthetic models shaped like a real one (layers x 9 tensors, a 128k-token tokenizer with
// scores, types and merges, a chat template) are written at several total sizes. Their tensor data
// is zeros, which the writer leaves as holes, so a 16 GiB file costs almost no disk. open() reads
// only the header and index, so its time should not grow with the file size. Each size reports the
// first open after writing and the median of repeated opens (index in the page cache).
// Verify: a file with random (incompressible, non-hole) tensor data is written, read once to warm
// the page cache, then verified on 1 thread and on all cores: GB/s of tensor bytes hashed.
//
//   bench_formats [--dir DIR] [--sizes-gib 1,4,16] [--verify-mib 1024] [--layers 32] [--keep FILE]
// --keep leaves the last (largest) sparse model at FILE, e.g. to try `quanta inspect` on it.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "formats/qnt.h"

using namespace quanta;
using namespace quanta::formats;
namespace fs = std::filesystem;

namespace {

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void die(const Status & s) {
    std::fprintf(stderr, "bench_formats: %s\n", s.message().c_str());
    std::exit(1);
}

void check(const Status & s) {
    if (!s.ok()) die(s);
}

// Writes `layers` x 9 F16 tensors plus embeddings totalling about `total` bytes. With `random_data`
// false the data is zeros (holes); otherwise a repeating random pattern.
void write_model(const std::string & path, uint64_t total, int layers, bool random_data) {
    auto w = QntWriter::create(path);
    if (!w.ok()) die(w.status());
    check(w->add_string("general.architecture", "llama"));
    check(w->add_u32("llama.block_count", uint32_t(layers)));
    check(w->add_u32("llama.embedding_length", 4096));
    check(w->add_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f));
    const int n_vocab = 128256;
    std::vector<std::string> tokens(n_vocab), merges(n_vocab - 256);
    std::vector<float> scores(n_vocab);
    std::vector<int32_t> types(n_vocab, 1);
    for (int i = 0; i < n_vocab; ++i) {
        tokens[size_t(i)] = "tok" + std::to_string(i);
        scores[size_t(i)] = -float(i);
    }
    for (size_t i = 0; i < merges.size(); ++i) merges[i] = "t o" + std::to_string(i);
    check(w->add_array("tokenizer.ggml.tokens", std::span<const std::string>(tokens)));
    check(w->add_array("tokenizer.ggml.scores", std::span<const float>(scores)));
    check(w->add_array("tokenizer.ggml.token_type", std::span<const int32_t>(types)));
    check(w->add_array("tokenizer.ggml.merges", std::span<const std::string>(merges)));
    check(w->add_string("tokenizer.chat_template", std::string(4000, 'x')));

    const int n_tensors = layers * 9 + 2;
    // F16 tensors: ne0 = 4096 elements per row; rows chosen so that the total is about `total`.
    const int64_t ne0 = 4096;
    const uint64_t row_bytes = uint64_t(ne0) * 2;
    const int64_t rows = std::max<int64_t>(1, int64_t(total / uint64_t(n_tensors) / row_bytes));
    const uint64_t tensor_bytes = uint64_t(rows) * row_bytes;
    std::vector<uint8_t> chunk(64 << 20, 0);
    if (random_data) {
        std::mt19937_64 rng(42);
        for (size_t i = 0; i < chunk.size(); i += 8) {
            const uint64_t v = rng();
            std::memcpy(chunk.data() + i, &v, 8);
        }
    }
    const std::vector<int64_t> ne = {ne0, rows};
    for (int t = 0; t < n_tensors; ++t) {
        const std::string name = t == 0   ? "token_embd.weight"
                                 : t == 1 ? "output.weight"
                                          : "blk." + std::to_string((t - 2) / 9) + ".w" + std::to_string((t - 2) % 9);
        check(w->begin_tensor(name, Type::F16, ne));
        for (uint64_t done = 0; done < tensor_bytes;) {
            const uint64_t n = std::min<uint64_t>(chunk.size(), tensor_bytes - done);
            check(w->write_tensor_data(chunk.data(), n));
            done += n;
        }
        check(w->end_tensor());
    }
    check(w->finish());
}

std::vector<int> parse_list(const std::string & s) {
    std::vector<int> out;
    size_t pos = 0;
    while (pos < s.size()) {
        size_t end = s.find(',', pos);
        if (end == std::string::npos) end = s.size();
        out.push_back(std::stoi(s.substr(pos, end - pos)));
        pos = end + 1;
    }
    return out;
}

}  // namespace

int main(int argc, char ** argv) {
    std::string dir = fs::temp_directory_path().string();
    std::vector<int> sizes_gib = {1, 4, 16};
    int verify_mib = 1024, layers = 32;
    std::string keep;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--dir")
            dir = argv[i + 1];
        else if (a == "--sizes-gib")
            sizes_gib = parse_list(argv[i + 1]);
        else if (a == "--verify-mib")
            verify_mib = std::stoi(argv[i + 1]);
        else if (a == "--layers")
            layers = std::stoi(argv[i + 1]);
        else if (a == "--keep")
            keep = argv[i + 1];
        else {
            std::fprintf(stderr,
                         "usage: %s [--dir DIR] [--sizes-gib 1,4,16] [--verify-mib 1024] [--layers 32] [--keep FILE]\n",
                         argv[0]);
            return 2;
        }
    }
    const std::string path = dir + "/bench_formats_" + std::to_string(::getpid()) + ".qnt";

    std::printf("qnt open time (%d layers, %d tensors, 128k-token tokenizer; median of 50 opens)\n", layers,
                layers * 9 + 2);
    std::printf("%10s %10s %12s %14s %14s\n", "file GiB", "index KiB", "write s", "first open ms", "open ms");
    for (int gib : sizes_gib) {
        const double t0 = now_s();
        write_model(path, uint64_t(gib) << 30, layers, false);
        const double write_s = now_s() - t0;
        const double t1 = now_s();
        auto first = QntReader::open(path);
        const double first_ms = (now_s() - t1) * 1e3;
        if (!first.ok()) die(first.status());
        const uint64_t file_size = first->file_size();
        const uint64_t index_bytes = file_size - (first->tensors().back().offset + first->tensors().back().size);
        std::vector<double> ms;
        for (int r = 0; r < 50; ++r) {
            const double t = now_s();
            auto q = QntReader::open(path);
            ms.push_back((now_s() - t) * 1e3);
            if (!q.ok() || q->tensors().size() != first->tensors().size()) die(q.status());
        }
        std::sort(ms.begin(), ms.end());
        std::printf("%10.2f %10.0f %12.2f %14.3f %14.3f\n", double(file_size) / double(1ull << 30),
                    double(index_bytes) / 1024.0, write_s, first_ms, ms[ms.size() / 2]);
        if (!keep.empty() && gib == sizes_gib.back())
            fs::rename(path, keep);
        else
            fs::remove(path);
    }

    write_model(path, uint64_t(verify_mib) << 20, layers, true);
    auto r = QntReader::open(path);
    if (!r.ok()) die(r.status());
    uint64_t bytes = 0;
    for (const auto & t : r->tensors()) bytes += t.size;
    (void)r->verify();  // warm the page cache
    const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
    std::printf("\nverify() of %.0f MiB of random tensor data, page cache warm (median of 5)\n",
                double(bytes) / double(1 << 20));
    for (int threads : {1, cores}) {
        std::vector<double> s;
        for (int k = 0; k < 5; ++k) {
            const double t = now_s();
            const auto bad = r->verify(threads);
            s.push_back(now_s() - t);
            if (!bad.empty()) {
                std::fprintf(stderr, "bench_formats: verify found %zu bad tensors in a fresh file\n", bad.size());
                return 1;
            }
        }
        std::sort(s.begin(), s.end());
        std::printf("  %2d thread(s): %7.2f GB/s\n", threads, double(bytes) / s[2] / 1e9);
    }
    fs::remove(path);
    return 0;
}
