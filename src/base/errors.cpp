#include "sfcrime/base/errors.hpp"

#include <atomic>
#include <csignal>
#include <unistd.h>

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

}  // namespace sfcrime
