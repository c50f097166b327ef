// quant/status.h — the one error type of quanta, used by every layer for untrusted input.
//
// Status carries a message that names the component, the object and the values
// ("gguf: tensor 'blk.3.ffn_up.weight': offset 9431 past end of file (8192)").
// Result<T> is a value or a Status. Invariants (programming errors) use QUANTA_CHECK instead.
// It lives in quant/ because quant is the lowest layer and every other layer depends on it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace quanta {

class [[nodiscard]] Status {
public:
    Status() = default;
    static Status error(std::string message) { Status s; s.message_ = std::move(message); s.ok_ = false; return s; }

    bool ok() const { return ok_; }
    const std::string & message() const { return message_; }

    // Prefixes context, e.g. status.with_context("model.qnt") -> "model.qnt: <message>".
    Status with_context(const std::string & context) const {
        return ok_ ? *this : error(context + ": " + message_);
    }

private:
    bool ok_ = true;
    std::string message_;
};

inline Status ok_status() { return Status(); }

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Status status) : v_(std::move(status)) {
        if (std::get<Status>(v_).ok()) { std::fprintf(stderr, "Result constructed from an ok Status\n"); std::abort(); }
    }

    bool ok() const { return std::holds_alternative<T>(v_); }
    const Status & status() const {
        static const Status kOk;
        return ok() ? kOk : std::get<Status>(v_);
    }
    T & value() & { return std::get<T>(v_); }
    const T & value() const & { return std::get<T>(v_); }
    T && value() && { return std::get<T>(std::move(v_)); }
    T * operator->() { return &value(); }
    const T * operator->() const { return &value(); }
    T & operator*() { return value(); }

private:
    std::variant<T, Status> v_;
};

}  // namespace quanta

// Invariant check: aborts with file and line. Never use for untrusted input (return a Status).
#define QUANTA_CHECK(cond)                                                                    \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
            std::abort();                                                                     \
        }                                                                                     \
    } while (0)

#ifdef NDEBUG
#define QUANTA_DCHECK(cond) do { (void)sizeof(cond); } while (0)
#else
#define QUANTA_DCHECK(cond) QUANTA_CHECK(cond)
#endif

// Returns early from a function returning Status or Result<T> when `expr` fails.
#define QUANTA_TRY(expr)                                        \
    do {                                                        \
        ::quanta::Status quanta_try_status_ = (expr);           \
        if (!quanta_try_status_.ok()) return quanta_try_status_; \
    } while (0)
