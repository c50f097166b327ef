// tests/formats/test_type_sizes.cpp — the sizes formats/ checks tensors with (read from
// quant/types.def) agree with quant's traits table and row_bytes for every type.
#include <catch2/catch.hpp>

#include "formats/bytes.h"
#include "quant/types.h"

using namespace quanta;
using namespace quanta::formats;

TEST_CASE("type sizes: formats and quant agree on every type", "[types]") {
    size_t n = 0;
    for (const quant::TypeTraits & t : quant::all_types()) {
        INFO(t.name);
        auto ts = type_size_from_id(t.id);
        REQUIRE(ts.has_value());
        CHECK(ts->type == t.type);
        CHECK(std::string(ts->name) == t.name);
        CHECK(ts->block_size == uint64_t(t.block_size));
        CHECK(ts->block_bytes == t.block_bytes);
        CHECK(quant::type_from_id(t.id) == t.type);
        const uint64_t dims[3] = {uint64_t(t.block_size) * 3, 5, 2};
        auto bytes = tensor_bytes(*ts, dims, "t");
        REQUIRE(bytes.ok());
        CHECK(*bytes == quant::row_bytes(t.type, t.block_size * 3) * 10);
        ++n;
    }
    CHECK(n >= 17);
    // An id in neither table.
    CHECK(!type_size_from_id(127).has_value());
    CHECK(!quant::type_from_id(127).has_value());
}
