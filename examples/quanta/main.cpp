// The `quanta` command: CLI11 subcommands, one file each (see commands.h).
#include <algorithm>
#include <climits>
#include <cstdio>

#include "examples/quanta/commands.h"

namespace quanta::cli {

int report(const Status & status) {
    if (status.ok()) return 0;
    std::fprintf(stderr, "quanta: error: %s\n", status.message().c_str());
    return 1;
}

Result<std::vector<int32_t>> parse_token_ids(const std::string & csv) {
    std::vector<int32_t> ids;
    size_t start = 0;
    while (start <= csv.size()) {
        const size_t end = std::min(csv.find(',', start), csv.size());
        const std::string item = csv.substr(start, end - start);
        if (item.empty() || item.size() > 10 || item.find_first_not_of("0123456789") != std::string::npos ||
            std::stoll(item) > INT32_MAX) {
            return Status::error("'" + item + "' is not a token id (expected comma-separated ids such as 2,651,6037)");
        }
        ids.push_back(int32_t(std::stoll(item)));
        start = end + 1;
    }
    return ids;
}

void on_run(CLI::App * sub, std::function<int()> run) {
    sub->final_callback([run = std::move(run)] {
        // CLI::RuntimeError carries an exit code out of CLI11_PARSE without printing anything.
        if (int rc = run(); rc != 0) throw CLI::RuntimeError(rc);
    });
}

}  // namespace quanta::cli

int main(int argc, char ** argv) {
    using namespace quanta::cli;
    CLI::App app{"quanta — run quantized LLMs on CPUs, NVIDIA GPUs and any Vulkan GPU"};
    app.require_subcommand(1);
    app.set_help_all_flag("--help-all", "Show help for every subcommand");

    add_version_command(app);
    add_inspect_command(app);
    add_convert_command(app);
    add_quantize_command(app);
    add_imatrix_command(app);
    add_run_command(app);
    add_chat_command(app);
    add_logits_command(app);
    add_tokenize_commands(app);
    add_perplexity_command(app);
    add_bench_command(app);

    CLI11_PARSE(app, argc, argv);
    return 0;
}
