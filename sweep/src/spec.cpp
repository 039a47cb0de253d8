// Sweep specs: loading with located errors, planning points, editing the
// base arch at an axis path (spec.hpp).
#include "bitnpu/sweep/spec.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "bitnpu/arch/hash.hpp"
#include "bitnpu/arch/load.hpp"
#include "bitnpu/errors.hpp"

namespace bitnpu::sweep {
namespace {

namespace fs = std::filesystem;

std::string read_text(const std::string& path, const std::string& what) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UserError(fmt::format("cannot read {} '{}'", what, path));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// "spec.yaml:LINE:COL: field: problem" for a node of the spec.
[[noreturn]] void fail(const std::string& file, const YAML::Node& node, const std::string& field,
                       const std::string& problem) {
    const YAML::Mark m = node.Mark();
    if (m.line >= 0) throw UserError(fmt::format("{}:{}:{}: {}: {}", file, m.line + 1, m.column + 1, field, problem));
    throw UserError(fmt::format("{}: {}: {}", file, field, problem));
}

std::string text_of(const std::string& file, const YAML::Node& n, const std::string& field) {
    if (!n || !n.IsScalar()) fail(file, n, field, "expected a string");
    return n.Scalar();
}

std::int64_t int_of(const std::string& file, const YAML::Node& n, const std::string& field, std::int64_t lo) {
    std::int64_t v = 0;
    try {
        v = n.as<std::int64_t>();
    } catch (const YAML::Exception&) {
        fail(file, n, field, "expected an integer");
    }
    if (v < lo) fail(file, n, field, fmt::format("{} is below {}", v, lo));
    return v;
}

void expect_keys(const std::string& file, const YAML::Node& map, const std::string& field,
                 const std::set<std::string>& allowed) {
    if (!map.IsMap()) fail(file, map, field, "expected a mapping");
    for (const auto& kv : map) {
        const std::string key = kv.first.Scalar();
        if (!allowed.count(key)) {
            std::string list;
            for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
            fail(file, kv.first, field.empty() ? key : field + "." + key, "unknown field (known: " + list + ")");
        }
    }
}

// $VAR and ${VAR} from the environment (e.g. ${BITNPU_CACHE}, $HOME); a
// leading ~ is $HOME. An unset variable is an error naming it.
std::string expand(const std::string& text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (i == 0 && text[0] == '~' && (text.size() == 1 || text[1] == '/')) {
            const char* home = std::getenv("HOME");
            out += home ? home : "";
            continue;
        }
        if (text[i] != '$') {
            out += text[i];
            continue;
        }
        std::size_t j = i + 1;
        const bool braced = j < text.size() && text[j] == '{';
        if (braced) ++j;
        std::size_t k = j;
        while (k < text.size() && (std::isalnum(static_cast<unsigned char>(text[k])) || text[k] == '_')) ++k;
        const std::string name = text.substr(j, k - j);
        if (name.empty() || (braced && (k >= text.size() || text[k] != '}')))
            throw UserError("'" + text + "': a $ not followed by a variable name");
        const char* value = std::getenv(name.c_str());
        if (!value) throw UserError("'" + text + "': environment variable " + name + " is not set");
        out += value;
        i = braced ? k : k - 1;
    }
    return out;
}

std::string resolve(const std::string& spec_path, const std::string& given) {
    const std::string relative = expand(given);
    const fs::path p(relative);
    if (p.is_absolute()) return relative;
    return (fs::path(spec_path).parent_path() / p).lexically_normal().string();
}

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> parts;
    std::stringstream ss(path);
    std::string part;
    while (std::getline(ss, part, '.')) parts.push_back(part);
    return parts;
}

// An axis may set several fields to one value: "a.bits+b.bits".
std::vector<std::string> tied_paths(const std::string& axis) {
    std::vector<std::string> out;
    std::stringstream ss(axis);
    std::string one;
    while (std::getline(ss, one, '+')) out.push_back(one);
    return out;
}

// The node at `path` in `root`, created (as a map key) when missing.
YAML::Node node_at(YAML::Node root, const std::string& path) {
    YAML::Node cur = root;
    const std::vector<std::string> parts = split_path(path);
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const std::string& part = parts[i];
        if (part.empty()) throw UserError(fmt::format("axis '{}': empty path segment", path));
        if (cur.IsSequence()) {
            YAML::Node found;
            bool has = false;   // (a default YAML::Node is a defined null: no "!found")
            for (std::size_t k = 0; k < cur.size() && !has; ++k) {
                YAML::Node e = cur[k];
                if ((e.IsMap() && e["name"] && e["name"].Scalar() == part) || std::to_string(k) == part) {
                    found.reset(e);
                    has = true;
                }
            }
            if (!has) {
                std::string names;
                for (std::size_t k = 0; k < cur.size(); ++k)
                    if (cur[k].IsMap() && cur[k]["name"]) names += (names.empty() ? "" : ", ") + cur[k]["name"].Scalar();
                throw UserError(fmt::format("axis '{}': no list element named '{}' (there are: {})", path, part, names));
            }
            cur.reset(found);
        } else {
            if (!cur.IsMap() && !cur.IsNull())
                throw UserError(fmt::format("axis '{}': '{}' is a value, not a section", path,
                                            fmt::format("{}", fmt::join(parts.begin(), parts.begin() + long(i), "."))));
            YAML::Node next = cur[part];
            cur.reset(next);
        }
    }
    return cur;
}

}  // namespace

std::string value_text(const YAML::Node& value) {
    if (value.IsScalar()) return value.Scalar();
    YAML::Emitter out;
    out.SetMapFormat(YAML::Flow);
    out.SetSeqFormat(YAML::Flow);
    out << value;
    return out.c_str();
}

SweepSpec load_sweep_spec(const std::string& path) {
    SweepSpec s;
    s.path = path;
    const std::string text = read_text(path, "sweep spec");
    s.hash = arch::sha256_hex(text);
    YAML::Node root;
    try {
        root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
        throw UserError(fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
    }
    if (!root || !root.IsMap()) throw UserError(path + ": a sweep spec is a mapping (sweep: 1, arch:, networks:, axes:)");
    expect_keys(path, root, "", {"sweep", "name", "arch", "networks", "axes", "combine", "points", "seed", "calib"});
    if (!root["sweep"] || int_of(path, root["sweep"], "sweep", 0) != kSweepVersion)
        fail(path, root, "sweep", fmt::format("'sweep: {}' is required (the spec format version)", kSweepVersion));
    s.name = root["name"] ? text_of(path, root["name"], "name") : fs::path(path).stem().string();
    if (!root["arch"]) fail(path, root, "arch", "the base arch YAML is required");
    s.arch_path = resolve(path, text_of(path, root["arch"], "arch"));
    s.arch_text = read_text(s.arch_path, "arch (spec " + path + ")");
    arch::parse_arch(s.arch_text, s.arch_path);   // the base must be valid

    const YAML::Node nets = root["networks"];
    if (!nets || !nets.IsSequence() || nets.size() == 0) fail(path, root, "networks", "a non-empty list is required");
    std::set<std::string> names;
    for (std::size_t i = 0; i < nets.size(); ++i) {
        const std::string field = fmt::format("networks[{}]", i);
        const YAML::Node n = nets[i];
        expect_keys(path, n, field, {"name", "model", "calib", "eval", "labels", "samples", "eval_samples"});
        Network net;
        for (const char* key : {"model", "calib", "eval"})
            if (!n[key]) fail(path, n, field + "." + key, "required");
        net.model = resolve(path, text_of(path, n["model"], field + ".model"));
        net.calib = resolve(path, text_of(path, n["calib"], field + ".calib"));
        net.eval = resolve(path, text_of(path, n["eval"], field + ".eval"));
        if (n["labels"]) net.labels = resolve(path, text_of(path, n["labels"], field + ".labels"));
        net.name = n["name"] ? text_of(path, n["name"], field + ".name") : fs::path(net.model).stem().string();
        if (n["samples"]) net.samples = int_of(path, n["samples"], field + ".samples", 1);
        if (n["eval_samples"]) net.eval_samples = int_of(path, n["eval_samples"], field + ".eval_samples", 1);
        for (const std::string* f : {&net.model, &net.calib, &net.eval, &net.labels})
            if (!f->empty() && !fs::exists(*f)) fail(path, n, field, fmt::format("'{}' does not exist", *f));
        if (!names.insert(net.name).second) fail(path, n, field + ".name", fmt::format("'{}' appears twice", net.name));
        s.networks.push_back(net);
    }

    const YAML::Node axes = root["axes"];
    if (!axes || !axes.IsMap() || axes.size() == 0) fail(path, root, "axes", "a mapping of arch field paths to value lists is required");
    for (const auto& kv : axes) {
        Axis a;
        a.path = kv.first.Scalar();
        a.line = kv.first.Mark().line + 1;
        const YAML::Node values = kv.second;
        if (!values.IsSequence() || values.size() == 0)
            fail(path, kv.second, "axes." + a.path, "expected a non-empty list of values");
        for (const auto& v : values) a.values.push_back(YAML::Clone(v));
        // The path must name a field the arch knows: set the first value on
        // the base and let the arch loader say what is wrong (unknown field,
        // with did-you-mean). A bad value is not a spec error (the point is
        // reported invalid), so only a field-name problem fails here.
        try {
            YAML::Node base = YAML::Load(s.arch_text);
            for (const std::string& one : tied_paths(a.path)) node_at(base, one) = YAML::Clone(a.values.front());
            YAML::Emitter e;
            e << base;
            arch::parse_arch(e.c_str(), "base arch with " + a.path);
        } catch (const UserError& e) {
            const std::string what = e.what();
            if (what.find("unknown") != std::string::npos || what.find("no list element") != std::string::npos ||
                what.find("not a section") != std::string::npos || what.find("did you mean") != std::string::npos)
                fail(path, kv.first, "axes." + a.path, what);
        }
        s.axes.push_back(std::move(a));
    }

    if (root["combine"]) {
        const std::string c = text_of(path, root["combine"], "combine");
        if (c == "grid") s.combine = Combine::grid;
        else if (c == "zip") s.combine = Combine::zip;
        else if (c == "random") s.combine = Combine::random;
        else fail(path, root["combine"], "combine", fmt::format("'{}' is not grid, zip or random", c));
    }
    if (s.combine == Combine::zip)
        for (const Axis& a : s.axes)
            if (a.values.size() != s.axes.front().values.size())
                fail(path, axes, "axes", "combine: zip needs lists of one length");
    if (s.combine == Combine::random) {
        if (!root["points"]) fail(path, root, "points", "combine: random needs points: N");
        s.random_points = int_of(path, root["points"], "points", 1);
    }
    // A sweep runs every point (each a calibration): a spec whose grid or
    // point count would not fit in memory, let alone run, is a typo.
    std::uint64_t count = 1;
    if (s.combine == Combine::random) count = static_cast<std::uint64_t>(s.random_points);
    else if (s.combine == Combine::zip) count = s.axes.front().values.size();
    else
        for (const Axis& a : s.axes) count = count > kMaxPoints ? count : count * a.values.size();
    if (count > kMaxPoints)
        fail(path, s.combine == Combine::random ? root["points"] : axes, s.combine == Combine::random ? "points" : "axes",
             fmt::format("the sweep has {}{} points; at most {} are allowed (split it, or use combine: random with "
                         "points: N)",
                         count > kMaxPoints * 1000 ? "more than " : "", std::min<std::uint64_t>(count, kMaxPoints * 1000),
                         kMaxPoints));
    if (root["seed"]) s.seed = static_cast<std::uint64_t>(int_of(path, root["seed"], "seed", 0));
    if (const YAML::Node c = root["calib"]) {
        expect_keys(path, c, "calib", {"policy", "search_samples"});
        if (c["policy"]) s.policy = text_of(path, c["policy"], "calib.policy");
        if (c["search_samples"]) s.search_samples = int_of(path, c["search_samples"], "calib.search_samples", 1);
    }
    return s;
}

std::vector<Point> plan_points(const SweepSpec& spec) {
    std::vector<std::vector<std::size_t>> picks;
    if (spec.combine == Combine::zip) {
        for (std::size_t i = 0; i < spec.axes.front().values.size(); ++i)
            picks.push_back(std::vector<std::size_t>(spec.axes.size(), i));
    } else if (spec.combine == Combine::random) {
        std::mt19937_64 rng(spec.seed);
        for (std::int64_t p = 0; p < spec.random_points; ++p) {
            std::vector<std::size_t> pick;
            for (const Axis& a : spec.axes) pick.push_back(std::uniform_int_distribution<std::size_t>(0, a.values.size() - 1)(rng));
            picks.push_back(pick);
        }
    } else {
        std::size_t total = 1;
        for (const Axis& a : spec.axes) total *= a.values.size();
        for (std::size_t n = 0; n < total; ++n) {
            std::vector<std::size_t> pick(spec.axes.size());
            std::size_t rest = n;
            for (std::size_t k = spec.axes.size(); k-- > 0;) {
                pick[k] = rest % spec.axes[k].values.size();
                rest /= spec.axes[k].values.size();
            }
            picks.push_back(pick);
        }
    }
    std::vector<Point> points;
    for (std::size_t p = 0; p < picks.size(); ++p) {
        Point point;
        point.id = fmt::format("p{:04d}", p);
        for (std::size_t k = 0; k < spec.axes.size(); ++k) point.values.push_back(spec.axes[k].values[picks[p][k]]);
        points.push_back(std::move(point));
    }
    return points;
}

std::string arch_for_point(const SweepSpec& spec, const Point& point) {
    YAML::Node base = YAML::Load(spec.arch_text);
    for (std::size_t k = 0; k < spec.axes.size(); ++k)
        for (const std::string& one : tied_paths(spec.axes[k].path)) node_at(base, one) = YAML::Clone(point.values[k]);
    if (base["name"]) base["name"] = base["name"].Scalar() + "@" + point.id;
    YAML::Emitter out;
    out << base;
    return std::string(out.c_str()) + "\n";
}

std::pair<std::int64_t, std::int64_t> parse_shard(const std::string& text) {
    const auto slash = text.find('/');
    std::int64_t k = 0, n = 0;
    try {
        if (slash == std::string::npos) throw std::invalid_argument(text);
        std::size_t used = 0;
        k = std::stoll(text.substr(0, slash), &used);
        if (used != slash) throw std::invalid_argument(text);
        n = std::stoll(text.substr(slash + 1), &used);
        if (used != text.size() - slash - 1) throw std::invalid_argument(text);
    } catch (const std::exception&) {
        throw UserError(fmt::format("--shard '{}': expected K/N, e.g. 2/4", text));
    }
    if (n < 1 || k < 1 || k > n) throw UserError(fmt::format("--shard {}: K must be in 1..N (N >= 1)", text));
    return {k, n};
}

std::vector<Point> shard_points(const std::vector<Point>& points, std::int64_t k, std::int64_t n) {
    if (n < 1 || k < 1 || k > n) throw UserError(fmt::format("shard {}/{}: K must be in 1..N", k, n));
    std::vector<Point> out;
    for (std::size_t i = static_cast<std::size_t>(k - 1); i < points.size(); i += static_cast<std::size_t>(n))
        out.push_back(points[i]);
    return out;
}

}  // namespace bitnpu::sweep
