// tests/backends/op_harness.h — builds one small graph from random inputs, runs it on a backend
// through the executor, and reads results back as f32; plus naive scalar helpers for references.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "core/executor.h"
#include "quant/types.h"

namespace quanta::test {

using core::Dims;
using core::GraphBuilder;
using core::Tensor;

inline std::vector<float> dequantize(Type type, const void * bytes, int64_t n) {
    std::vector<float> out(static_cast<size_t>(n));
    if (type == core::kI32) {
        for (int64_t i = 0; i < n; ++i) out[size_t(i)] = float(static_cast<const int32_t *>(bytes)[i]);
        return out;
    }
    quant::traits(type).dequantize_row(bytes, out.data(), n);
    return out;
}

// Quantizes then dequantizes: what a kernel sees after converting an f32 row to `type`.
inline std::vector<float> round_trip(Type type, const float * x, int64_t n) {
    if (type == Type::F32) return std::vector<float>(x, x + n);
    std::vector<uint8_t> q(core::type_row_bytes(type, n));
    quant::traits(type).quantize_row(x, q.data(), n, nullptr);
    return dequantize(type, q.data(), n);
}

class OpCase {
public:
    explicit OpCase(uint32_t seed) : rng_(seed) {}

    GraphBuilder g;

    // Random N(0, scale^2) f32 input; host gets the packed values.
    Tensor f32(const std::string & name, const Dims & ne, std::vector<float> & host, float scale = 1.0f) {
        Tensor t = g.input(name, Type::F32, ne);
        host.resize(size_t(t.nelements()));
        std::normal_distribution<float> dist(0.0f, scale);
        for (float & v : host) v = dist(rng_);
        add_input(t, host.data(), host.size() * 4);
        return t;
    }

    // Random input stored as `type`; deq gets its exact f32 values (packed, dim 0 first).
    Tensor typed(const std::string & name, Type type, const Dims & ne, std::vector<float> & deq, float scale = 1.0f) {
        Tensor t = g.input(name, type, ne);
        const int64_t n = t.nelements();
        std::vector<float> raw(static_cast<size_t>(n));
        std::normal_distribution<float> dist(0.0f, scale);
        for (float & v : raw) v = dist(rng_);
        std::vector<uint8_t> bytes(size_t(t.extent_bytes()));
        const int64_t rows = n / ne[0];
        const size_t rb = core::type_row_bytes(type, ne[0]);
        for (int64_t r = 0; r < rows; ++r) {
            quant::traits(type).quantize_row(raw.data() + r * ne[0], bytes.data() + size_t(r) * rb, ne[0], nullptr);
        }
        deq.clear();
        for (int64_t r = 0; r < rows; ++r) {
            std::vector<float> row = dequantize(type, bytes.data() + size_t(r) * rb, ne[0]);
            deq.insert(deq.end(), row.begin(), row.end());
        }
        add_input(t, bytes.data(), bytes.size());
        return t;
    }

    Tensor i32(const std::string & name, const std::vector<int32_t> & v) {
        Tensor t = g.input(name, core::kI32, {int64_t(v.size())});
        add_input(t, v.data(), v.size() * 4);
        return t;
    }

    // Builds (once), runs on a fresh CPU backend of nth threads (or on `make` backends) and returns
    // each tensor's packed contents as f32. Outputs must be packed F32/I32 results or externals.
    std::vector<std::vector<float>> run(const std::vector<Tensor> & outs, int nth,
                                        const core::ExecutorOptions * base = nullptr) {
        if (!graph_) {
            for (const Tensor & t : outs) {
                if (g.status().ok() && t.valid() && !is_input(t)) g.mark_output(t);
            }
            Result<core::Graph> built = g.build();
            INFO(built.status().message());
            REQUIRE(built.ok());
            graph_ = std::move(built.value());
        }
        backends::cpu::CpuBackend cpu(nth);
        core::ExecutorOptions opts;
        if (base) opts = *base;
        opts.cpu = &cpu;
        Result<std::unique_ptr<core::Executor>> ex = core::Executor::create(*graph_, opts);
        REQUIRE(ex.ok());
        core::Executor & e = *ex.value();
        for (const Input & in : inputs_) {
            REQUIRE(e.bind_new(in.t, cpu).ok());
            REQUIRE(e.write(in.t, in.bytes.data(), in.bytes.size()).ok());
        }
        Status s = e.run();
        INFO(s.message());
        REQUIRE(s.ok());
        last_stats = e.stats();
        std::vector<std::vector<float>> result;
        for (const Tensor & t : outs) {
            std::vector<uint8_t> bytes(size_t(t.extent_bytes()));
            Status rs = e.read(t, bytes.data(), bytes.size());
            INFO(rs.message());
            REQUIRE(rs.ok());
            result.push_back(dequantize(t.type, bytes.data(), t.nelements()));
        }
        return result;
    }

    std::vector<float> run1(Tensor out, int nth) { return run({out}, nth)[0]; }

    std::mt19937 & rng() { return rng_; }
    core::ExecutorStats last_stats;

private:
    struct Input {
        Tensor t;
        std::vector<uint8_t> bytes;
    };

    void add_input(Tensor t, const void * p, size_t n) {
        Input in{t, std::vector<uint8_t>(n)};
        std::memcpy(in.bytes.data(), p, n);
        inputs_.push_back(std::move(in));
    }

    bool is_input(const Tensor & t) const {
        for (const Input & in : inputs_) {
            if (in.t.storage == t.storage) return true;
        }
        return false;
    }

    std::mt19937 rng_;
    std::vector<Input> inputs_;
    std::optional<core::Graph> graph_;
};

// max |a - b| / max(1e-6, max |ref|)
inline double rel_max_err(const std::vector<float> & got, const std::vector<double> & ref) {
    REQUIRE(got.size() == ref.size());
    double err = 0.0, mag = 1e-6;
    for (size_t i = 0; i < got.size(); ++i) {
        err = std::max(err, std::fabs(double(got[i]) - ref[i]));
        mag = std::max(mag, std::fabs(ref[i]));
        if (std::isnan(got[i])) return INFINITY;
    }
    return err / mag;
}

inline bool bitwise_equal(const std::vector<float> & a, const std::vector<float> & b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Runs the case with 1 and 2 threads, requires identical bits, returns the result.
inline std::vector<float> run_1_and_2(OpCase & c, Tensor out) {
    std::vector<float> one = c.run1(out, 1);
    std::vector<float> two = c.run1(out, 2);
    REQUIRE(bitwise_equal(one, two));
    return one;
}

}  // namespace quanta::test
