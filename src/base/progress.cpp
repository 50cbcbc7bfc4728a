#include "sfcrime/base/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>

namespace sfcrime {

ProgressLine::ProgressLine(bool enabled) : ProgressLine(enabled ? Mode::automatic : Mode::never) {}

ProgressLine::ProgressLine(Mode mode)
    : on_(mode == Mode::always || (mode == Mode::automatic && ::isatty(STDERR_FILENO))) {
  if (!on_) return;
  timer_ = std::jthread([this](std::stop_token stop) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    // The first redraw after 250 ms: a command that ends sooner draws nothing.
    for (;;) {
      cv.wait_for(lock, stop, std::chrono::milliseconds(250), [] { return false; });  // woken early by a stop
      if (stop.stop_requested()) return;
      due_.store(true, std::memory_order_relaxed);
    }
  });
}

ProgressLine::~ProgressLine() {
  timer_ = {};  // requests stop and joins
  clear();
}

void ProgressLine::show(const std::string& text) {
  if (!on_) return;
  const std::size_t width = static_cast<std::size_t>(std::max(columns() - 1, 10));
  std::fprintf(stderr, "\r\033[K%.*s", static_cast<int>(std::min(text.size(), width)), text.c_str());
  std::fflush(stderr);
  shown_ = true;
}

void ProgressLine::clear() {
  if (!shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

std::string ProgressLine::bar(double fraction, int width) {
  const int inner = std::max(width - 2, 1);
  if (!(fraction >= 0)) fraction = 0;  // NaN too
  fraction = std::min(fraction, 1.0);
  const int full = static_cast<int>(fraction * inner);
  std::string s = "[";
  s.append(static_cast<std::size_t>(full), '=');
  if (full < inner) {
    s += '>';
    s.append(static_cast<std::size_t>(inner - full - 1), ' ');
  }
  return s + "]";
}

std::string ProgressLine::clock(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 360000) return "--:--";
  const long long s = static_cast<long long>(std::ceil(seconds));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  return buf;
}

int ProgressLine::columns() noexcept {
  winsize w{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0) return w.ws_col;
  return 80;
}

std::string with_commas(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace sfcrime
