// `quanta version`: version, git commit, and the backends compiled in and usable right now.
#include <cstdio>

#include "backends/registry.h"
#include "examples/quanta/commands.h"

namespace quanta::cli {

void add_version_command(CLI::App & app) {
    CLI::App * sub = app.add_subcommand("version", "Print version, commit, and the backends and devices found");
    on_run(sub, [] {
        std::printf("quanta %s (commit %s)\n", QUANTA_VERSION, QUANTA_GIT_COMMIT);
        for (const backends::BackendProbe & b : backends::probe_backends()) {
            if (!b.compiled) {
                std::printf("  %-7s %s\n", b.name.c_str(), b.status.c_str());
                continue;
            }
            if (b.devices.empty()) {
                std::printf("  %-7s compiled in; %s\n", b.name.c_str(), b.status.c_str());
                continue;
            }
            for (size_t i = 0; i < b.devices.size(); ++i) {
                std::printf("  %-7s device %zu: %s (%s)\n", b.name.c_str(), i, b.devices[i].name.c_str(),
                            b.devices[i].detail.c_str());
            }
        }
        return 0;
    });
}

}  // namespace quanta::cli
