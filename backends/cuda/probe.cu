// backends/cuda/probe.cu — lists CUDA devices. cudaGetDeviceCount fails with
// cudaErrorInsufficientDriver (35) on a machine with the toolkit but no GPU: any error there means
// "no CUDA device", reported with the runtime's own words.
#include "backends/cuda/probe.h"

#include <cuda_runtime.h>

#include <cstdio>

namespace quanta::backends::cuda {

BackendProbe probe() {
    BackendProbe out{"cuda", true, "ok", {}};
    int runtime_version = 0;
    cudaRuntimeGetVersion(&runtime_version);
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0) {
        out.status = std::string("no CUDA device (") +
                     (err != cudaSuccess ? cudaGetErrorString(err) : "the driver reports 0 devices") + ")";
        cudaGetLastError();  // clear the sticky error so later calls start clean
        return out;
    }
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp prop{};
        if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
        char detail[160];
        std::snprintf(detail, sizeof detail, "sm_%d%d, %.1f GiB, %d SMs, CUDA runtime %d.%d", prop.major, prop.minor,
                      double(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0), prop.multiProcessorCount,
                      runtime_version / 1000, (runtime_version % 1000) / 10);
        out.devices.push_back({prop.name, detail});
    }
    return out;
}

}  // namespace quanta::backends::cuda
