// examples/quanta/commands.h — the `quanta` subcommands. Each lives in its own cmd_*.cpp file and
// registers itself on the CLI11 app; main.cpp lists them once, in the order --help shows them.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "quant/status.h"

namespace quanta::cli {

void add_version_command(CLI::App & app);
void add_inspect_command(CLI::App & app);
void add_convert_command(CLI::App & app);
void add_quantize_command(CLI::App & app);
void add_imatrix_command(CLI::App & app);
void add_run_command(CLI::App & app);
void add_chat_command(CLI::App & app);
void add_logits_command(CLI::App & app);
void add_tokenize_commands(CLI::App & app);
void add_perplexity_command(CLI::App & app);
void add_bench_command(CLI::App & app);

// Makes `run` the subcommand's action; a non-zero return becomes the process's exit code.
void on_run(CLI::App * sub, std::function<int()> run);

// "2,651,6037" -> ids; anything that is not a non-negative 32-bit integer is an error naming it.
Result<std::vector<int32_t>> parse_token_ids(const std::string & csv);

// Turns a Status into one line on stderr and exit code 1 (0 when ok).
int report(const Status & status);

}  // namespace quanta::cli
