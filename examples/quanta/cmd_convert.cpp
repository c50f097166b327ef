// `quanta convert` and `quanta quantize`: one pipeline (convert/convert.h), two entry points.
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "convert/convert.h"
#include "convert/type_policy.h"
#include "examples/quanta/commands.h"

namespace quanta::cli {

namespace {

struct ConvertArgs {
    std::string input, output, type, imatrix;
    bool force = false, quiet = false;
    int threads = 0;
};

// A one-line progress bar on a terminal, plain lines otherwise (logs, CI), nothing with --quiet.
convert::ConvertOptions make_options(const ConvertArgs & a) {
    convert::ConvertOptions o;
    o.type = a.type;
    o.force = a.force;
    o.n_threads = a.threads;
    o.imatrix = a.imatrix;
    if (a.quiet) return o;
    const bool tty = isatty(STDERR_FILENO);
    const auto start = std::chrono::steady_clock::now();
    o.progress = [tty, start](size_t i, size_t n, const std::string & name, uint64_t read) {
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const double mbs = s > 0 ? double(read) / 1e6 / s : 0.0;
        const double eta = i + 1 < n && i > 0 ? s / double(i + 1) * double(n - i - 1) : 0.0;
        if (tty) {
            std::fprintf(stderr, "\r[%zu/%zu] %5.0f MB/s  ETA %4.0fs  %-48.48s", i + 1, n, mbs, eta, name.c_str());
            if (i + 1 == n) std::fprintf(stderr, "\n");
        } else {
            std::fprintf(stderr, "[%zu/%zu] %s (%.0f MB read, %.0f MB/s)\n", i + 1, n, name.c_str(), double(read) / 1e6, mbs);
        }
    };
    return o;
}

void add_shared(CLI::App * sub, ConvertArgs & a) {
    sub->add_option("-o,--output", a.output, "Output .qnt file (written to a temporary file, then renamed)")->required();
    sub->add_flag("--force", a.force, "Overwrite the output if it exists");
    sub->add_flag("-q,--quiet", a.quiet, "No progress output");
    sub->add_option("-t,--threads", a.threads, "Quantization threads (default: all cores)")->check(CLI::NonNegativeNumber);
    sub->add_option("--imatrix", a.imatrix,
                    "Importance statistics weighting the quantization error (`quanta imatrix` output, or a "
                    "llama.cpp imatrix GGUF)")
        ->check(CLI::ExistingFile);
}

}  // namespace

void add_convert_command(CLI::App & app) {
    static ConvertArgs a;
    CLI::App * sub = app.add_subcommand("convert", "Convert a Hugging Face checkpoint directory or a .gguf into one .qnt");
    sub->add_option("input", a.input, "Hugging Face checkpoint directory, or a .gguf file")->required();
    add_shared(sub, a);
    sub->add_option("--type", a.type,
                    "Weight type or mix: " + convert::type_policy_choices() +
                        ". Default: f16 for checkpoints, keep (bit-exact) for GGUF");
    on_run(sub, [] {
        return report(convert::convert_model(a.input, a.output, make_options(a)));
    });
}

void add_quantize_command(CLI::App & app) {
    static ConvertArgs a;
    CLI::App * sub = app.add_subcommand("quantize", "Re-quantize a .qnt to another type or mix");
    sub->add_option("input", a.input, "Input .qnt file")->required()->check(CLI::ExistingFile);
    add_shared(sub, a);
    sub->add_option("--type", a.type, "Weight type or mix: " + convert::type_policy_choices())->required();
    on_run(sub, [] {
        return report(convert::quantize_model(a.input, a.output, make_options(a)));
    });
}

}  // namespace quanta::cli
