#pragma once
/// A one-line progress display on stderr for people watching a long command (like kcat's or
/// curl's), redrawn in place at most every 250 ms, only when stderr is a terminal, so scripts and
/// logs see just the final summary.
#include <chrono>
#include <string>

namespace sfcrime {

class ProgressLine {
 public:
  /// @param enabled false turns every call into a no-op; true still requires stderr to be a tty.
  explicit ProgressLine(bool enabled);
  ~ProgressLine();

  /// True when a redraw is due (a tty and 250 ms since the last one); cheap, call per record.
  bool due() noexcept;
  /// Redraws the line with `text` (no newline).
  void show(const std::string& text);
  /// Erases the line so the next output starts on a clean line.
  void clear();

 private:
  bool on_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point next_{};
  unsigned calls_ = 0;
};

}  // namespace sfcrime
