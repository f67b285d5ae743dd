#pragma once
// Durable, atomic file replacement: write a temporary file in the same folder, flush and
// fsync it, rename it over the target, fsync the folder. A crash at any moment leaves
// either the old file or the new one, never a torn one.

#include <string>
#include <string_view>

namespace tally::internal {

/// Replaces `path` with `content` atomically; throws IOError naming the file on failure.
void write_file_atomically(const std::string& path, std::string_view content);

/// The whole content of a file; throws IOError naming the file on failure.
std::string read_file(const std::string& path);

}  // namespace tally::internal
