// The files a CLI writes, checked before any work starts and published all
// at once at the end (issue #15), shared by calib, npusim and cosim.
//
//   - An output may never name one of the command's inputs (same path, or
//     the same file: device and inode after following symlinks), nor
//     another output.
//   - An existing output that is not a regular file (a directory, /dev/full,
//     a FIFO) is refused, never replaced. A symlink to a regular file is
//     written through: its target is replaced, the link stays.
//   - The directory of every output must exist (or be creatable, for
//     create_dirs outputs) and be writable before work starts.
//   - Each output is written to a temporary file next to its target
//     (temp_path); commit() renames them all at the end. Until then, and if
//     commit is never reached, the targets are untouched and the
//     destructor removes the temporary files.
// Every refusal is a bitnpu::UserError (exit 2) naming the option and path.
#pragma once

#include <string>
#include <vector>

namespace bitnpu::cli {

class OutputFiles {
public:
    OutputFiles() = default;
    OutputFiles(const OutputFiles&) = delete;
    OutputFiles& operator=(const OutputFiles&) = delete;
    ~OutputFiles();

    // A file the command reads; `what` names it in messages ("--arch").
    // Empty paths and paths that do not exist are ignored.
    void input(const std::string& path, const std::string& what);
    // Declares an output and checks it against the inputs given so far and
    // the other outputs; returns the temporary path to write it to.
    // create_dirs: a missing directory is created at commit.
    std::string output(const std::string& path, const std::string& what, bool create_dirs = false);
    // Creates the missing directories of create_dirs outputs: call it once
    // the work is done, before writing the temporary files.
    void create_directories();
    // Renames every temporary file onto its target (creating directories
    // first). Outputs never written are skipped.
    void commit();

private:
    struct File {
        std::string path, what;
        std::string target;  // path with symlinks resolved (what gets replaced)
        std::string temp;
        bool create_dirs = false;
    };
    std::vector<File> inputs_, outputs_;
    void check_against_inputs(const File& out) const;
};

}  // namespace bitnpu::cli
