#include "internal/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "internal/check.h"

namespace tally::internal {
namespace {

// The process umask, read without changing it (umask() itself would race with other threads).
mode_t current_umask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
  }
  return 022;
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view content) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string name = target.filename().string();
  name.insert(name.begin(), '.');  // hidden, in the same folder so the rename is atomic
  name += ".tmp-XXXXXX";
  std::string tmp = (folder / name).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) throw IOError(str_cat(path, ": cannot create a temporary file: ", std::strerror(errno)));
  // mkstemp creates 0600; give the file the mode a plain open() would (0666 less the umask).
  ::fchmod(fd, 0666 & ~current_umask());
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw IOError(str_cat(path, ": write failed: ", std::strerror(err)));
    }
    written += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  int flush_error = errno;
  const bool closed = ::close(fd) == 0;
  if (synced && !closed) flush_error = errno;
  if (!synced || !closed) {
    ::unlink(tmp.c_str());
    throw IOError(str_cat(path, ": cannot flush to disk: ", std::strerror(flush_error)));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw IOError(str_cat(path, ": cannot rename the temporary file into place: ", std::strerror(err)));
  }
  // The rename is durable only once the folder entry is on disk.
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

std::string read_file(const std::string& path) {
  // Opened non-blocking so that a FIFO cannot block here; refused below unless regular.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw IOError(str_cat(path, ": cannot open: ", std::strerror(errno)));
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    const int err = errno;
    ::close(fd);
    if (!S_ISREG(info.st_mode) && info.st_mode != 0) {
      throw IOError(str_cat(path, ": cannot read: not a regular file", S_ISDIR(info.st_mode) ? " (a folder)" : ""));
    }
    throw IOError(str_cat(path, ": cannot read: ", std::strerror(err)));
  }
  std::string out;
  char buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      const int err = errno;
      ::close(fd);
      throw IOError(str_cat(path, ": read failed: ", std::strerror(err)));
    }
    out.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

void append_file(const std::string& path, std::string_view content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) throw IOError(str_cat(path, ": cannot open for appending: ", std::strerror(errno)));
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw IOError(str_cat(path, ": write failed: ", std::strerror(err)));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) throw IOError(str_cat(path, ": write failed: ", std::strerror(errno)));
}

void create_folders(const std::string& folder) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) throw IOError(str_cat(folder, ": cannot create the folder: ", error.message()));
}

}  // namespace tally::internal
