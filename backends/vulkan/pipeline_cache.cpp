#include "backends/vulkan/pipeline_cache.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <unistd.h>

namespace quanta::backends::vulkan {

std::string pipeline_cache_path(const VkPhysicalDeviceProperties & props) {
    std::string dir;
    if (const char * env = std::getenv("QUANTA_VK_PIPELINE_CACHE")) {
        if (env[0] == '\0' || std::string(env) == "0") return {};
        return env;
    }
    if (const char * xdg = std::getenv("XDG_CACHE_HOME"); xdg && xdg[0]) dir = std::string(xdg) + "/quanta";
    else if (const char * home = std::getenv("HOME"); home && home[0]) dir = std::string(home) + "/.cache/quanta";
    else return {};
    char name[64];
    std::snprintf(name, sizeof name, "/vulkan-%04x-%04x.bin", props.vendorID, props.deviceID);
    return dir + name;
}

std::vector<char> load_pipeline_cache(const std::string & path, const VkPhysicalDeviceProperties & props) {
    std::vector<char> data;
    if (path.empty()) return data;
    std::ifstream in(path, std::ios::binary);
    if (!in) return data;  // no cache yet: the normal first run
    data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    VkPipelineCacheHeaderVersionOne h{};
    bool ok = data.size() >= sizeof h;
    if (ok) {
        std::memcpy(&h, data.data(), sizeof h);
        ok = h.headerSize >= sizeof h && h.headerSize <= data.size() &&
             h.headerVersion == VK_PIPELINE_CACHE_HEADER_VERSION_ONE && h.vendorID == props.vendorID &&
             h.deviceID == props.deviceID &&
             std::memcmp(h.pipelineCacheUUID, props.pipelineCacheUUID, VK_UUID_SIZE) == 0;
    }
    if (!ok) {
        std::fprintf(stderr, "quanta: warning: vulkan: ignoring pipeline cache '%s' (%zu bytes): not written by this "
                             "device and driver, or corrupt; it will be rewritten\n", path.c_str(), data.size());
        data.clear();
    }
    return data;
}

void save_pipeline_cache(const std::string & path, const std::vector<char> & data) {
    if (path.empty() || data.empty()) return;
    std::error_code ec;
    const std::filesystem::path p(path);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
    const std::string tmp = path + ".tmp." + std::to_string(::getpid());
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(data.data(), std::streamsize(data.size()));
        if (!out) {
            std::fprintf(stderr, "quanta: warning: vulkan: cannot write pipeline cache '%s'\n", tmp.c_str());
            std::filesystem::remove(tmp, ec);
            return;
        }
    }
    std::filesystem::rename(tmp, p, ec);
    if (ec) {
        std::fprintf(stderr, "quanta: warning: vulkan: cannot save pipeline cache '%s': %s\n", path.c_str(),
                     ec.message().c_str());
        std::filesystem::remove(tmp, ec);
    }
}

}  // namespace quanta::backends::vulkan
