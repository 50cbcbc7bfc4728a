#include "sfcrime/errors.hpp"

#include <atomic>
#include <csignal>
#include <unistd.h>

namespace sfcrime {
namespace {
std::atomic<int> g_signals{0};

extern "C" void on_signal(int) {
  if (g_signals.fetch_add(1) >= 1) {
    // A second signal: the user wants out now, whatever is being flushed.
    static const char msg[] = "\nsfcrime: interrupted again, exiting at once\n";
    ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(static_cast<int>(Exit::interrupted));
  }
}
}  // namespace

bool interrupted() noexcept { return g_signals.load(std::memory_order_relaxed) > 0; }

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
