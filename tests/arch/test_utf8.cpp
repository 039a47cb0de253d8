// check_utf8 (issue #15): non-UTF-8 bytes in YAML are a located UserError.
#include <catch2/catch.hpp>

#include "bitnpu/arch/load.hpp"
#include "bitnpu/arch/utf8.hpp"
#include "bitnpu/errors.hpp"

using bitnpu::UserError;
using bitnpu::arch::check_utf8;
using Catch::Matchers::Contains;

TEST_CASE("check_utf8 accepts UTF-8 and locates the first bad byte", "[arch][utf8]") {
    CHECK_NOTHROW(check_utf8("name: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n", "a.yaml"));
    CHECK_THROWS_WITH(check_utf8("a: 1\nname: x\xffy\n", "a.yaml"), Contains("a.yaml:2:8:") && Contains("0xFF"));
    CHECK_THROWS_AS(check_utf8("\xc0\xaf", "o"), UserError);          // overlong '/'
    CHECK_THROWS_AS(check_utf8("\xed\xa0\x80", "o"), UserError);      // surrogate
    CHECK_THROWS_AS(check_utf8("\xf4\x90\x80\x80", "o"), UserError);  // above U+10FFFF
    CHECK_THROWS_AS(check_utf8("\xe2\x82", "o"), UserError);          // truncated
}

TEST_CASE("parse_arch rejects a non-UTF-8 name with its location", "[arch][utf8]") {
    CHECK_THROWS_WITH(bitnpu::arch::parse_arch("name: np\xfeu\nengines: []\n", "x.yaml"),
                      Contains("x.yaml:1:9:") && Contains("UTF-8"));
}
