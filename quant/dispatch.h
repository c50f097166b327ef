// quant/dispatch.h — run-time choice of SIMD kernels for the CPU this process runs on.
// One portable binary: each ISA's kernels are compiled in their own translation units with
// their own flags, and the best one the CPU supports is picked once, at first use.
#pragma once

#include <string_view>

namespace quanta::quant {

enum class Isa { Scalar, Avx2, Avx512, Avx512Vnni, Neon };

// The ISA the dispatcher chose (QUANTA_ISA=scalar|avx2|avx512|avx512vnni caps it, for tests).
Isa cpu_isa_level();
std::string_view isa_name(Isa isa);
inline std::string_view cpu_isa() { return isa_name(cpu_isa_level()); }

}  // namespace quanta::quant
