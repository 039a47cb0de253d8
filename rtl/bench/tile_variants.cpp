// Matching an engine to a verilated variant (the table itself is generated).
#include "bitnpu/errors.hpp"
#include "tile_sim.hpp"

namespace bitnpu::rtl {

const TileVariant& find_variant(const TileConfig& config) {
    std::string known;
    for (const TileVariant& v : tile_variants()) {
        if (v.params == config.params) return v;
        known += "\n  " + v.name + ": " + describe(v.params);
    }
    throw UserError("no verilated npu_tile variant has the parameters of engine '" + config.engine +
                    "':\n  wanted: " + describe(config.params) + "\nbuilt variants:" + known +
                    "\n(add the config to BITNPU_RTL_VARIANTS in rtl/CMakeLists.txt, or re-run CMake if the "
                    "YAML changed)");
}

}  // namespace bitnpu::rtl
