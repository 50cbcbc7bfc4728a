#include "sfcrime/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace sfcrime {

ProgressLine::ProgressLine(bool enabled) : on_(enabled && ::isatty(STDERR_FILENO)) {}

ProgressLine::~ProgressLine() { clear(); }

bool ProgressLine::due() noexcept {
  if (!on_ || (++calls_ & 255) != 0) return false;  // look at the clock every 256 calls only
  const auto now = std::chrono::steady_clock::now();
  if (now < next_) return false;
  next_ = now + std::chrono::milliseconds(250);
  return true;
}

void ProgressLine::show(const std::string& text) {
  if (!on_) return;
  std::fprintf(stderr, "\r\033[K%s", text.c_str());
  std::fflush(stderr);
  shown_ = true;
}

void ProgressLine::clear() {
  if (!shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace sfcrime
