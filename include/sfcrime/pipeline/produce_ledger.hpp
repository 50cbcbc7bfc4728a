#pragma once
/// The ledger of `sfcrime produce`: what became of each record read, the summary line, and the
/// one command that resumes exactly after a stop.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sfcrime {

/// The longest prefix 1..K of record numbers whose records are all settled (delivered, rejected,
/// skipped, or found already in the topic), and what is known past it.
class SettledPrefix {
 public:
  enum State : std::uint8_t { pending = 0, delivered = 1, other = 2 };
  /// Record `record` (1-based) is settled `how`; a record at or below K is ignored.
  void settle(std::uint64_t record, State how);
  /// K: records 1..K are all settled.
  std::uint64_t k() const noexcept { return k_; }
  /// Records after K that were delivered.
  std::uint64_t delivered_after() const;

 private:
  std::uint64_t k_ = 0;
  std::deque<State> after_;  // records k_+1, k_+2, ...
};

/// Counts of one produce run. read = delivered + rejected + failed + not_sent + already + unknown
/// (delivered and failed are the producer's DeliveryStats).
struct ProduceCounts {
  std::uint64_t read = 0;      ///< records read after --skip
  std::uint64_t rejected = 0;  ///< not a valid record (or envelope): reported, kept where asked
  std::uint64_t skipped = 0;   ///< passed over by --skip
  std::uint64_t not_sent = 0;  ///< valid, not handed to the producer because sending stopped
  std::uint64_t already = 0;   ///< found in the topic, sent by an earlier run without an answer
  std::uint64_t checked = 0;   ///< looked for in the topic (a failed file's possibly_delivered)
  std::uint64_t possibly = 0;  ///< failed after being sent without an answer: may be in the topic
  std::uint64_t last_read = 0;  ///< the number of the last record read (M), skipped ones included
  /// Failed deliveries by librdkafka's error text.
  std::map<std::string, std::uint64_t> failure_causes;
};

/// What the resume command is made of: the command line's parts that shape what is sent and how.
struct ResumeShape {
  std::string topic;
  std::string input;           ///< the input path, "-" for standard input
  std::string options;         ///< for the failed file: " --key F --order event-time ..." (shell-quoted, may be "")
  std::string input_options;   ///< for the input read again (with envelopes it also repeats -H)
  std::uint64_t limit_left = 0;  ///< --limit still to read, 0 for none
};

/// One exact way to resume, or "" when nothing is left to send.
///   - `kept` records are in `kept_path` (a failed file): `sfcrime produce -t T -f KEPT`;
///   - the input was not read to its end: the rest with `--skip M` (after the failed file's
///     command with &&, or alone);
/// `input_done`: the input was read to its end (or to --limit).
std::string resume_command(const ResumeShape& shape, std::uint64_t kept, const std::string& kept_path,
                           bool input_done, std::uint64_t last_read);

/// Quotes `s` for a POSIX shell when it needs it (the resume command printed in errors).
std::string shell_word(const std::string& s);

/// "1 record" / "N records" (or the given words).
std::string plural(std::uint64_t n, const char* one, const char* many);

}  // namespace sfcrime
