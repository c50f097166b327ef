// The Vulkan op tests again, in a child process with the Khronos validation layer on
// (QUANTA_VK_VALIDATION=1: layer + debug-utils messenger that prints and counts every error). The
// test fails on any validation error, or when the child fails; it skips aloud when there is no
// device or the layer is not installed (Debian: vulkan-validationlayers).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

#include "backends/vulkan/instance.h"
#include "tests/backends/vulkan/vk_harness.h"

using namespace quanta;

namespace {

bool validation_layer_installed() {
    uint32_t n = 0;
    vkEnumerateInstanceLayerProperties(&n, nullptr);
    std::vector<VkLayerProperties> layers(n);
    vkEnumerateInstanceLayerProperties(&n, layers.data());
    for (const VkLayerProperties & l : layers) {
        if (std::string(l.layerName) == "VK_LAYER_KHRONOS_validation") return true;
    }
    return false;
}

std::string self_exe() {
    char buf[4096];
    const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    return n > 0 ? std::string(buf, size_t(n)) : std::string();
}

}  // namespace

// Run only by the test below, in its child process.
TEST_CASE("vulkan validation child: the layer is active", "[.][vk-validation-child]") {
    auto instance = backends::vulkan::Instance::get();
    REQUIRE(instance.ok());
    REQUIRE((*instance)->validating());
    std::cout << "validation layer active" << std::endl;
}

TEST_CASE("vulkan: op and model tests under the validation layer report no errors", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    if (!validation_layer_installed()) {
        QUANTA_SKIP("VK_LAYER_KHRONOS_validation is not installed (apt-get install vulkan-validationlayers)");
    }
    const std::string exe = self_exe();
    REQUIRE(!exe.empty());
    const std::string log = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/quanta_vk_validation_" +
                            std::to_string(::getpid()) + ".log";
    const std::string cmd = "QUANTA_VK_VALIDATION=1 '" + exe +
                            "' '[vk-validation-child],vulkan ops:*,vulkan model: decode*' > '" + log + "' 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string out = ss.str();
    std::remove(log.c_str());
    INFO(out.substr(out.size() > 6000 ? out.size() - 6000 : 0));
    CHECK(out.find("validation layer active") != std::string::npos);
    CHECK(out.find("vulkan validation error") == std::string::npos);
    CHECK(rc == 0);
}
