#pragma once
// Durable, atomic file replacement: write a temporary file in the same folder, flush and
// fsync it, rename it over the target, fsync the folder. A crash at any moment leaves
// either the old file or the new one, never a torn one.

#include <string>
#include <string_view>

namespace tally::internal {

/// Replaces `path` with `content` atomically; throws IOError naming the file on failure.
void write_file_atomically(const std::string& path, std::string_view content);

/// The whole content of a regular file; throws IOError naming the file and the OS reason on
/// failure, and for anything that is not a regular file (a FIFO would block the reader).
std::string read_file(const std::string& path);

/// Appends `content` to `path` (created with mode 0666 less the umask if missing) in one
/// write; throws IOError naming the file and the OS reason on failure.
void append_file(const std::string& path, std::string_view content);

/// Creates `folder` and its parents if missing; throws IOError naming the folder and the
/// OS reason (std::filesystem's error code) on failure.
void create_folders(const std::string& folder);

}  // namespace tally::internal
