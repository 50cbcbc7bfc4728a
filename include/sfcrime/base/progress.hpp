#pragma once
/// A one-line progress display on stderr for people watching a long command (like kcat's or
/// curl's), redrawn in place about four times a second, by default only when stderr is a
/// terminal, so scripts and logs see just the final summary.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>

namespace sfcrime {

class ProgressLine {
 public:
  /// When the line is drawn: automatic (stderr is a terminal), always, never.
  enum class Mode { automatic, always, never };

  /// @param enabled false turns every call into a no-op; true still requires stderr to be a tty.
  explicit ProgressLine(bool enabled);
  explicit ProgressLine(Mode mode);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  /// True when the line is drawn at all (see Mode).
  bool on() const noexcept { return on_; }

  /// True when a redraw is due: every 250 ms a timer thread raises a flag that this takes down.
  /// One relaxed atomic load when nothing is due: cheap enough to call for every record.
  bool due() noexcept {
    if (!on_ || !due_.load(std::memory_order_relaxed)) return false;
    due_.store(false, std::memory_order_relaxed);
    return true;
  }
  /// Redraws the line with `text` (no newline), cut to the terminal's width so that it never
  /// wraps (a wrapped line could not be redrawn in place).
  void show(const std::string& text);
  /// Erases the line so the next output starts on a clean line.
  void clear();

  /// "[=====>      ]": a bar `width` characters wide (brackets included) filled to `fraction`
  /// (clamped to [0, 1]).
  static std::string bar(double fraction, int width);
  /// "1:02:03" or "2:03" for a number of seconds (rounded up; negative or not finite: "--:--").
  static std::string clock(double seconds);
  /// The terminal's width in columns (ioctl TIOCGWINSZ on stderr), 80 when unknown.
  static int columns() noexcept;

 private:
  bool on_;
  bool shown_ = false;
  std::atomic<bool> due_{false};
  std::jthread timer_;  // raises due_ every 250 ms while on_
};

/// Numbers for people: 1234567 -> "1,234,567".
std::string with_commas(std::uint64_t n);

}  // namespace sfcrime
