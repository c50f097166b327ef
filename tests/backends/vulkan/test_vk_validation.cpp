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

#include "backends/vulkan/device.h"
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

// Run only in a child process: a deliberate misuse (a buffer of 0 bytes) that the layer must report,
// so the parent knows the messenger sees and counts errors.
TEST_CASE("vulkan validation child: a misuse is reported", "[.][vk-validation-negative]") {
    auto device = backends::vulkan::Device::open(0);
    REQUIRE(device.ok());
    REQUIRE((*device)->instance().validating());
    VkBufferCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    info.size = 0;
    info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    VkBuffer b = VK_NULL_HANDLE;
    vkCreateBuffer((*device)->handle(), &info, nullptr, &b);
    if (b) vkDestroyBuffer((*device)->handle(), b, nullptr);
    std::cout << "counted " << backends::vulkan::validation_errors() << " validation errors" << std::endl;
}

namespace {

// Runs this executable with QUANTA_VK_VALIDATION=1 and a test filter; returns (exit code, output).
std::pair<int, std::string> run_child(const std::string & filter) {
    const std::string exe = self_exe();
    REQUIRE(!exe.empty());
    const std::string log = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/quanta_vk_validation_" +
                            std::to_string(::getpid()) + ".log";
    const std::string cmd = "QUANTA_VK_VALIDATION=1 '" + exe + "' '" + filter + "' > '" + log + "' 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    std::remove(log.c_str());
    return {rc, ss.str()};
}

}  // namespace

TEST_CASE("vulkan: the validation messenger reports and counts a deliberate misuse", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    if (!validation_layer_installed()) {
        QUANTA_SKIP("VK_LAYER_KHRONOS_validation is not installed (apt-get install vulkan-validationlayers)");
    }
    auto [rc, out] = run_child("[vk-validation-negative]");
    INFO(out);
    CHECK(rc == 0);
    CHECK(out.find("vulkan validation error") != std::string::npos);
    CHECK(out.find("VUID-VkBufferCreateInfo-size-00912") != std::string::npos);
    CHECK(out.find("counted 1 validation errors") != std::string::npos);
}

TEST_CASE("vulkan: op and model tests under the validation layer report no errors", "[vulkan]") {
    QUANTA_VK_OR_SKIP(vk);
    if (!validation_layer_installed()) {
        QUANTA_SKIP("VK_LAYER_KHRONOS_validation is not installed (apt-get install vulkan-validationlayers)");
    }
    auto [rc, out] = run_child("[vk-validation-child],vulkan ops:*,vulkan model: decode*");
    INFO(out.substr(out.size() > 6000 ? out.size() - 6000 : 0));
    CHECK(out.find("validation layer active") != std::string::npos);
    CHECK(out.find("vulkan validation error") == std::string::npos);
    CHECK(rc == 0);
}
