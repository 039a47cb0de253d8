// NumPy .npz archives: a zip reader (stored and deflated entries, zip64)
// via the central directory, and an uncompressed writer.
#include <zlib.h>

#include "bitnpu/frontend/tensor_io.hpp"
#include "bitnpu/errors.hpp"
#include "file_util.hpp"

namespace bitnpu::calib {

namespace {

constexpr std::uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50, kEndOfCentralDir = 0x06054b50,
                        kZip64Locator = 0x07064b50, kZip64EndOfCentralDir = 0x06064b50;

// Bounds-checked little-endian reads from the archive bytes.
struct Reader {
    const std::string& bytes;
    const std::string& what;

    std::uint64_t get(std::size_t pos, int n) const {
        if (pos + static_cast<std::size_t>(n) > bytes.size() || pos + static_cast<std::size_t>(n) < pos)
            throw UserError(what + ": truncated or corrupt .npz (zip) file");
        std::uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(bytes[pos + static_cast<std::size_t>(i)]);
        return v;
    }
    std::uint16_t u16(std::size_t pos) const { return static_cast<std::uint16_t>(get(pos, 2)); }
    std::uint32_t u32(std::size_t pos) const { return static_cast<std::uint32_t>(get(pos, 4)); }
    std::uint64_t u64(std::size_t pos) const { return get(pos, 8); }
};

struct Entry {
    std::string name;
    int method = 0;
    std::uint32_t crc = 0;
    std::uint64_t compressed = 0, uncompressed = 0, local_offset = 0;
};

struct Directory {
    std::uint64_t count = 0, offset = 0;
};

Directory find_central_directory(const Reader& r) {
    const std::string& b = r.bytes;
    if (b.size() < 22) throw UserError(r.what + " is not a .npz (zip) file (too short)");
    // The end record is the last 22 bytes plus a comment of up to 64 KiB.
    const std::size_t lowest = b.size() > 22 + 65535 ? b.size() - 22 - 65535 : 0;
    for (std::size_t pos = b.size() - 22 + 1; pos-- > lowest;) {
        if (r.u32(pos) != kEndOfCentralDir) continue;
        Directory d{r.u16(pos + 10), r.u32(pos + 16)};
        if ((d.count == 0xffff || d.offset == 0xffffffffu) && pos >= 20 && r.u32(pos - 20) == kZip64Locator) {
            const std::size_t z = r.u64(pos - 20 + 8);
            if (r.u32(z) != kZip64EndOfCentralDir) throw UserError(r.what + ": corrupt zip64 directory");
            d.count = r.u64(z + 32);
            d.offset = r.u64(z + 48);
        }
        return d;
    }
    throw UserError(r.what + " is not a .npz (zip) file (no end-of-central-directory record; truncated?)");
}

// Zip64 extra field: 64-bit values for the fields saturated at 0xffffffff.
void apply_zip64_extra(const Reader& r, std::size_t extra, std::size_t extra_len, Entry& e) {
    for (std::size_t p = extra; p + 4 <= extra + extra_len;) {
        const std::uint16_t id = r.u16(p), size = r.u16(p + 2);
        if (id == 0x0001) {
            std::size_t q = p + 4;
            if (e.uncompressed == 0xffffffffu) e.uncompressed = r.u64(q), q += 8;
            if (e.compressed == 0xffffffffu) e.compressed = r.u64(q), q += 8;
            if (e.local_offset == 0xffffffffu) e.local_offset = r.u64(q);
        }
        p += 4 + size;
    }
}

std::vector<Entry> read_directory(const Reader& r) {
    const Directory d = find_central_directory(r);
    std::vector<Entry> entries;
    std::size_t pos = d.offset;
    for (std::uint64_t i = 0; i < d.count; ++i) {
        if (r.u32(pos) != kCentralHeader) throw UserError(r.what + ": corrupt zip central directory");
        Entry e;
        e.method = r.u16(pos + 10);
        e.crc = r.u32(pos + 16);
        e.compressed = r.u32(pos + 20);
        e.uncompressed = r.u32(pos + 24);
        const std::size_t name_len = r.u16(pos + 28), extra_len = r.u16(pos + 30), comment_len = r.u16(pos + 32);
        e.local_offset = r.u32(pos + 42);
        r.get(pos + 46, 0);
        if (pos + 46 + name_len > r.bytes.size()) throw UserError(r.what + ": truncated zip directory");
        e.name = r.bytes.substr(pos + 46, name_len);
        apply_zip64_extra(r, pos + 46 + name_len, extra_len, e);
        entries.push_back(e);
        pos += 46 + name_len + extra_len + comment_len;
    }
    return entries;
}

std::string inflate_raw(const std::string& in, std::uint64_t out_size, const std::string& what) {
    std::string out(out_size, '\0');
    z_stream zs{};
    if (inflateInit2(&zs, -15) != Z_OK) throw UserError(what + ": zlib inflateInit failed");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&zs, Z_FINISH);
    const auto produced = zs.total_out;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END || produced != out_size) throw UserError(what + ": corrupt deflated data");
    return out;
}

std::string entry_data(const Reader& r, const Entry& e) {
    const std::string what = r.what + " entry '" + e.name + "'";
    if (r.u32(e.local_offset) != kLocalHeader) throw UserError(what + ": corrupt local header");
    const std::size_t start = e.local_offset + 30 + r.u16(e.local_offset + 26) + r.u16(e.local_offset + 28);
    if (start > r.bytes.size() || e.compressed > r.bytes.size() - start)  // no wrap-around on 64-bit sizes
        throw UserError(what + ": truncated data");
    const std::string raw = r.bytes.substr(start, e.compressed);
    std::string data;
    if (e.method == 0)
        data = raw;
    else if (e.method == 8 && e.uncompressed / 1032 > e.compressed + 1)  // beyond deflate's maximum ratio
        throw UserError(what + ": corrupt sizes in the zip directory");
    else if (e.method == 8)
        data = inflate_raw(raw, e.uncompressed, what);
    else
        throw UserError(what + ": zip compression method " + std::to_string(e.method) +
                        " is not supported (only stored and deflated)");
    const auto crc = crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
    if (crc != e.crc) throw UserError(what + ": CRC mismatch (corrupt file)");
    return data;
}

void put(std::string& out, std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

}  // namespace

std::map<std::string, Tensor> load_npz(const std::string& path) {
    const std::string bytes = io_util::read_file(path, ".npz file");
    const std::string what = "'" + path + "'";
    const Reader r{bytes, what};
    std::map<std::string, Tensor> tensors;
    for (const Entry& e : read_directory(r)) {
        std::string key = e.name;
        if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
        tensors[key] = parse_npy(entry_data(r, e), what + " entry '" + e.name + "'");
    }
    return tensors;
}

void save_npz(const std::string& path, const std::map<std::string, Tensor>& tensors) {
    std::string out, directory;
    std::uint64_t count = 0;
    for (const auto& [key, tensor] : tensors) {
        const std::string name = key + ".npy";
        const std::string data = serialize_npy(tensor);
        if (data.size() >= 0xffffffffu || out.size() >= 0xffffffffu)
            throw UserError("'" + path + "': tensor '" + key + "' is too large for a non-zip64 .npz");
        const auto crc = crc32(0L, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
        const std::uint64_t offset = out.size();
        // Local header: version 2.0, no flags, stored, fixed DOS time 1980-01-01 (deterministic bytes).
        put(out, kLocalHeader, 4), put(out, 20, 2), put(out, 0, 2), put(out, 0, 2), put(out, 0, 2),
            put(out, 0x21, 2), put(out, crc, 4), put(out, data.size(), 4), put(out, data.size(), 4),
            put(out, name.size(), 2), put(out, 0, 2);
        out += name + data;
        put(directory, kCentralHeader, 4), put(directory, 20, 2), put(directory, 20, 2), put(directory, 0, 2),
            put(directory, 0, 2), put(directory, 0, 2), put(directory, 0x21, 2), put(directory, crc, 4),
            put(directory, data.size(), 4), put(directory, data.size(), 4), put(directory, name.size(), 2),
            put(directory, 0, 2), put(directory, 0, 2), put(directory, 0, 2), put(directory, 0, 2),
            put(directory, 0, 4), put(directory, offset, 4);
        directory += name;
        ++count;
    }
    const std::uint64_t dir_offset = out.size();
    out += directory;
    put(out, kEndOfCentralDir, 4), put(out, 0, 2), put(out, 0, 2), put(out, count, 2), put(out, count, 2),
        put(out, directory.size(), 4), put(out, dir_offset, 4), put(out, 0, 2);
    write_file_atomically(path, out);
}

}  // namespace bitnpu::calib
