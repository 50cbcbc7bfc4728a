#include "sfcrime/base/errors.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <mutex>
#include <unordered_set>
#include <vector>

namespace sfcrime {
namespace {
std::atomic<int> g_signals{0};
std::atomic<int> g_first{0};  // the first signal's number

// A plain sigaction handler rather than Boost.Asio's signal_set: a signal_set reports the signal
// on its io_context thread, after the read(2) it interrupted has already returned EINTR, so a
// Ctrl-C on a stalled pipe could go unseen; this handler sets the flag before read(2) returns.
extern "C" void on_signal(int sig) {
  int none = 0;
  g_first.compare_exchange_strong(none, sig);
  if (g_signals.fetch_add(1) >= 1) {
    // A second signal: the user wants out now, whatever is being flushed.
    static const char msg[] = "\nsfcrime: interrupted again, exiting at once\n";
    ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(128 + sig);
  }
}
}  // namespace

bool interrupted() noexcept { return g_signals.load(std::memory_order_relaxed) > 0; }

Exit interrupt_exit_code() noexcept {
  return g_first.load(std::memory_order_relaxed) == SIGTERM ? Exit::terminated : Exit::interrupted;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A closed pipe (`sfcrime consume | head`) must end the command quietly, not kill it mid-write:
  // writes then fail with EPIPE, which the sinks turn into a clean stop.
  std::signal(SIGPIPE, SIG_IGN);
}

namespace {
constexpr std::size_t kFragment = 8;  // a run of this many characters of a secret is hidden
constexpr std::size_t kShort = 4;     // a shorter secret is hidden only where it stands as a word

struct Secrets {
  std::mutex mu;
  std::vector<std::string> values;
  std::unordered_set<std::string> fragments;  // every kFragment-long run of the longer values
};

Secrets& secrets() {
  // Never destroyed: librdkafka's threads may still log while static objects are destroyed.
  static Secrets* s = new Secrets;
  return *s;
}

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
}  // namespace

void note_secret(std::string_view value) {
  const auto b = value.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return;
  value = value.substr(b, value.find_last_not_of(" \t\r\n") - b + 1);
  Secrets& s = secrets();
  std::lock_guard lock(s.mu);
  if (std::find(s.values.begin(), s.values.end(), value) != s.values.end()) return;
  s.values.emplace_back(value);
  if (value.size() >= kFragment)
    for (std::size_t i = 0; i + kFragment <= value.size(); ++i) s.fragments.emplace(value.substr(i, kFragment));
}

std::string redact_secrets(std::string_view text) {
  Secrets& s = secrets();
  std::lock_guard lock(s.mu);
  if (s.values.empty() || text.empty()) return std::string(text);
  std::vector<bool> hide(text.size(), false);
  const auto mark = [&](std::size_t from, std::size_t n) { std::fill_n(hide.begin() + static_cast<std::ptrdiff_t>(from), n, true); };
  if (!s.fragments.empty())
    for (std::size_t i = 0; i + kFragment <= text.size(); ++i)
      if (s.fragments.count(std::string(text.substr(i, kFragment)))) mark(i, kFragment);
  for (const std::string& v : s.values) {
    if (v.size() >= kFragment) continue;  // its fragment is the value itself
    for (std::size_t at = text.find(v); at != std::string_view::npos; at = text.find(v, at + 1)) {
      const std::size_t end = at + v.size();
      if (v.size() < kShort && ((at > 0 && word_char(text[at - 1])) || (end < text.size() && word_char(text[end]))))
        continue;
      mark(at, v.size());
    }
  }
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (!hide[i]) {
      out += text[i++];
      continue;
    }
    out += "[redacted]";
    while (i < text.size() && hide[i]) ++i;
  }
  return out;
}

int open_or_interrupt(const std::string& path, int flags, const std::string& what, unsigned mode) {
  for (;;) {
    // A signal that came before the call would leave open(2) waiting for the FIFO's other end.
    if (interrupted()) throw InterruptedError("interrupted while opening " + what + " '" + path + "'");
    const int fd = ::open(path.c_str(), flags, static_cast<mode_t>(mode));
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

int read_whole_file(const std::string& path, std::string& out, const std::string& what) {
  const int fd = open_or_interrupt(path, O_RDONLY | O_CLOEXEC, what);
  if (fd < 0) return errno;
  out.clear();
  char buf[1 << 16];
  int error = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      error = errno;
      break;
    } else if (interrupted()) {
      ::close(fd);
      throw InterruptedError("interrupted while reading " + what + " '" + path + "'");
    }
  }
  ::close(fd);
  return error;
}

}  // namespace sfcrime
