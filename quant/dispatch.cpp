#include "quant/dispatch.h"

#include <cstdlib>
#include <string>

namespace quanta::quant {

static Isa detect() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl")) {
        return __builtin_cpu_supports("avx512vnni") ? Isa::Avx512Vnni : Isa::Avx512;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
        return Isa::Avx2;
    }
    return Isa::Scalar;
#elif defined(__aarch64__)
    return Isa::Neon;
#else
    return Isa::Scalar;
#endif
}

// QUANTA_ISA lowers the level (never raises it past what the CPU has), so tests can compare paths.
static Isa capped(Isa found) {
    const char * env = std::getenv("QUANTA_ISA");
    if (!env) return found;
    const std::string want(env);
    for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni, Isa::Neon}) {
        if (want == isa_name(isa) && int(isa) <= int(found)) return isa;
    }
    return found;
}

Isa cpu_isa_level() {
    static const Isa level = capped(detect());
    return level;
}

std::string_view isa_name(Isa isa) {
    switch (isa) {
        case Isa::Scalar: return "scalar";
        case Isa::Avx2: return "avx2";
        case Isa::Avx512: return "avx512";
        case Isa::Avx512Vnni: return "avx512vnni";
        case Isa::Neon: return "neon";
    }
    return "unknown";
}

}  // namespace quanta::quant
