// The CTable reader rejects non-UTF-8 bytes (issue #15) with their location.
#include <catch2/catch.hpp>

#include "bitnpu/ctable/ctable.hpp"
#include "bitnpu/errors.hpp"

using Catch::Matchers::Contains;

TEST_CASE("parse_ctable rejects a non-UTF-8 layer name", "[ctable][utf8]") {
    CHECK_THROWS_WITH(bitnpu::calib::parse_ctable("layers:\n  - name: conv\x80\n", "t.yaml"),
                      Contains("t.yaml:2:15:") && Contains("UTF-8"));
}
