// The CLIs' command-line grammar and exit codes, as a user meets them:
// npusim's subcommands (fp32, run, cycle) and its old spellings, flags of
// another mode rejected with exit 2, and a bad input exiting 2 in every CLI.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "cli_runner.hpp"

using namespace bitnpu::testing;
namespace fs = std::filesystem;

namespace {

const std::string kSource = BITNPU_SOURCE_DIR;
const std::string kNpusim = BITNPU_NPUSIM_EXE;
const std::string kModel = kSource + "/models/cnn.onnx";
const std::string kArch = kSource + "/configs/int8_npu.yaml";
const std::string kInput = kSource + "/data/test_100_x.npy";

// A CTable for the bundled CNN on int8_npu (max policy: quick).
std::string make_ctable(const fs::path& dir) {
    const std::string ctable = (dir / "cnn.ctable.yaml").string();
    const auto r = run_cli(std::string(BITNPU_CALIB_EXE) + " --arch " + kArch + " " + kModel + " --data " + kSource +
                           "/data/calib_500.npy --samples 64 --policy max -q -o " + ctable);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    return ctable;
}

void require_ok(const std::string& command) {
    const auto r = run_cli(command);
    INFO(command);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("npusim: the fp32, run and cycle subcommands", "[cli][npusim]") {
    const fs::path dir = temp_dir("npusim-modes");
    const std::string ctable = make_ctable(dir);
    const std::string bit = " --arch " + kArch + " --ctable " + ctable + " " + kModel + " --input " + kInput;

    require_ok(kNpusim + " fp32 " + kModel + " --input " + kInput + " --output-dir " + (dir / "fp32").string() +
               " --threads 2");
    CHECK(fs::exists(dir / "fp32" / "logits.npy"));

    require_ok(kNpusim + " run" + bit + " --output-dir " + (dir / "run").string() + " --raw --threads 2");
    CHECK(fs::exists(dir / "run" / "logits.npy"));
    const std::string raw = read_file(dir / "run" / "logits.raw.npy");
    REQUIRE_FALSE(raw.empty());

    const auto cycle = run_cli(kNpusim + " cycle" + bit + " --output-dir " + (dir / "cycle").string() +
                               " --raw --report " + (dir / "cycle.json").string());
    INFO(cycle.output);
    REQUIRE(cycle.exit_code == 0);
    CHECK(contains(cycle.output, "latency"));
    CHECK(fs::exists(dir / "cycle.json"));
    CHECK(read_file(dir / "cycle" / "logits.raw.npy") == raw);

    // The cycle mode writes outputs only when asked.
    require_ok(kNpusim + " cycle" + bit);

    // `npusim MODE --help` lists that mode's flags only.
    const auto help = run_cli(kNpusim + " fp32 --help");
    CHECK(help.exit_code == 0);
    CHECK(contains(help.output, "--output-dir"));
    CHECK_FALSE(contains(help.output, "--vcd"));
    CHECK_FALSE(contains(help.output, "--arch"));
}

TEST_CASE("npusim: the old spellings still work and give the same bytes", "[cli][npusim]") {
    const fs::path dir = temp_dir("npusim-old");
    const std::string ctable = make_ctable(dir);
    const std::string bit = " --arch " + kArch + " --ctable " + ctable + " " + kModel + " --input " + kInput;

    require_ok(kNpusim + " --fp32 " + kModel + " --input " + kInput + " --output-dir " + (dir / "old-fp32").string());
    require_ok(kNpusim + " fp32 " + kModel + " --input " + kInput + " --output-dir " + (dir / "new-fp32").string());
    CHECK(read_file(dir / "old-fp32" / "logits.npy") == read_file(dir / "new-fp32" / "logits.npy"));

    require_ok(kNpusim + bit + " --raw --output-dir " + (dir / "old-run").string());
    require_ok(kNpusim + " run" + bit + " --raw --output-dir " + (dir / "new-run").string());
    CHECK(read_file(dir / "old-run" / "logits.raw.npy") == read_file(dir / "new-run" / "logits.raw.npy"));

    require_ok(kNpusim + " --cycle" + bit + " --output-dir " + (dir / "old-cycle").string() + " --raw");
    CHECK(read_file(dir / "old-cycle" / "logits.raw.npy") == read_file(dir / "new-run" / "logits.raw.npy"));
}

TEST_CASE("npusim: a flag of another mode exits 2 and says which mode it belongs to", "[cli][npusim][errors]") {
    const fs::path dir = temp_dir("npusim-misplaced");
    const fs::path out = dir / "out";
    // Refused before any file but the command line's is read: the arch file
    // stands in for the CTable.
    const std::string bit = " --arch " + kArch + " --ctable " + kArch + " " + kModel + " --input " + kInput;
    const std::string fp32 = " " + kModel + " --input " + kInput;
    const std::string to = " --output-dir " + out.string();
    const std::vector<std::pair<std::string, std::string>> cases = {
        // subcommands
        {" fp32" + fp32 + to + " --raw", "error: --raw applies only to the run and cycle modes (npusim run|cycle ...)"},
        {" fp32" + fp32 + to + " --arch " + kArch, "error: --arch applies only to the run and cycle modes"},
        {" run" + bit + to + " --vcd " + (dir / "w.vcd").string(),
         "error: --vcd applies only to the cycle mode (npusim cycle ...)"},
        {" run" + bit + to + " --report " + (dir / "r.json").string(),
         "error: --report applies only to the cycle mode (npusim cycle ...)"},
        {" cycle" + bit + to + " --threads 2",
         "error: --threads applies only to the fp32 and run modes (npusim fp32|run ...)"},
        {" cycle" + bit + " --raw", "error: --raw needs --output-dir"},
        {" --raw run" + bit + to, "error: --raw goes after the subcommand (npusim run --raw ...)"},
        // old spellings
        {" --fp32" + fp32 + to + " --raw", "error: --raw applies only to the run and cycle modes"},
        {" --fp32" + fp32 + to + " --ctable " + kArch, "error: --ctable applies only to the run and cycle modes"},
        {bit + to + " --vcd " + (dir / "w.vcd").string(),
         "error: --vcd applies only to the cycle mode (npusim cycle ...)"},
        {" --cycle" + bit + to + " --threads 2", "error: --threads applies only to the fp32 and run modes"},
        {" --cycle --fp32" + fp32 + to, "error: --fp32 and --cycle select different modes"},
        {" --fp32 " + kModel + " " + kModel + " --input " + kInput + to, "would be a second one"},
        // what a mode needs
        {" run " + kModel + " --input " + kInput + to,
         "error: the bit-accurate mode needs the model, --arch and --ctable"},
        {" run" + bit, "error: npusim run needs --output-dir"},
        {" fp32 " + kModel + to, "error: give the model's inputs with --input or --images"},
        {" fp32" + fp32 + to + " --preprocess " + kArch, "error: --preprocess applies only with --images"},
    };
    for (const auto& [args, message] : cases) {
        const auto r = run_cli(kNpusim + args);
        INFO("npusim" + args);
        INFO(r.output);
        CHECK(r.exit_code == 2);
        CHECK(contains(r.output, message));
        CHECK_FALSE(fs::exists(out));
    }
}

TEST_CASE("every CLI exits 2 with 'error: ' on bad input", "[cli][errors]") {
    const fs::path dir = temp_dir("bad-input");
    auto expect_2 = [](const std::string& command, const std::string& message) {
        const auto r = run_cli(command);
        INFO(command);
        INFO(r.output);
        CHECK(r.exit_code == 2);
        CHECK(contains(r.output, message));
    };
    const std::string bad_arch = kSource + "/tests/arch/bad/acc_bits_range.yaml";
    expect_2(std::string(BITNPU_ARCHINFO_EXE) + " " + bad_arch,
             "error: " + bad_arch + ":8:25: engines[0].accumulator.bits: 70 is outside 2..64");
    expect_2(std::string(BITNPU_ARCHINFO_EXE), "error: file is required");
    expect_2(std::string(BITNPU_CALIB_EXE) + " --arch " + bad_arch + " " + kModel + " --data " + kInput +
                 " -o " + (dir / "t.yaml").string(),
             "error: " + bad_arch + ":8:25");
    expect_2(std::string(BITNPU_CALIB_EXE) + " --arch " + kArch + " " + kModel + " --data " + kInput +
                 " --eval-data " + kInput,
             "error: --eval-data and --eval-labels go together");
    expect_2(kNpusim + " run --arch " + bad_arch + " --ctable " + kArch + " " + kModel + " --input " + kInput +
                 " --output-dir " + (dir / "o").string(),
             "error: " + bad_arch + ":8:25");
    expect_2(kNpusim + " fp32 " + kSource + "/models/no_such.onnx --input " + kInput + " --output-dir " +
                 (dir / "o").string(),
             "error: ");
    CHECK_FALSE(fs::exists(dir / "t.yaml"));
    CHECK_FALSE(fs::exists(dir / "o"));
#ifdef BITNPU_COSIM_EXE
    if (fs::exists(BITNPU_COSIM_EXE)) {
        expect_2(std::string(BITNPU_COSIM_EXE) + " --arch " + kArch + " --engine nope --vectors 1",
                 "error: arch 'int8-npu' has no engine 'nope'");
        expect_2(std::string(BITNPU_COSIM_EXE) + " --arch " + bad_arch + " --vectors 1",
                 "error: " + bad_arch + ":8:25");
        expect_2(std::string(BITNPU_COSIM_EXE) + " --vectors 1", "error: --arch is required");
    }
#endif
}
