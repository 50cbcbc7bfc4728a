#pragma once
/// `sfcrime produce` as a pipeline: read each record (reader.hpp), validate it (record.hpp) or read
/// it as an envelope (envelope.hpp), send it (kafka.hpp) in file or event-time order
/// (event_sort.hpp) at the pace asked (pacer.hpp), wait for every delivery report, and account for
/// every record read (produce_ledger.hpp):
///   read = sent + rejected + failed + not sent + already in the topic + without a delivery report.
///
/// Nothing read is lost without a word: a rejected record can be kept in a dead-letter topic and
/// file; a record that is not delivered, or not sent because sending stopped, is kept in the
/// failed file (kept_file.hpp), from which `sfcrime produce --file F` sends it again, first
/// checking the topic for those the broker may have written without answering
/// (delivered_check.hpp). After any stop (a delivery failure, the broker gone, SIGINT, SIGTERM, a
/// fatal producer error) the last message names one exact way to resume.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sfcrime/base/config.hpp"
#include "sfcrime/base/progress.hpp"
#include "sfcrime/kafka/kafka.hpp"

namespace sfcrime {

/// What `sfcrime produce` was asked to do (its options, checked).
struct ProduceOptions {
  enum class Order { file, event_time };

  std::string topic;
  std::string file = "-";                  ///< input path, "-" for standard input
  std::string key_field = "crime_id";      ///< "" for null keys
  std::uint64_t skip = 0;                  ///< records passed over first
  std::uint64_t limit = 0;                 ///< records read at most, 0 for all
  std::uint64_t rate = 0;                  ///< records per second at most, 0 for no limit
  Order order = Order::file;
  double speedup = 0;                      ///< seconds of event time per second, 0 for no replay
  std::optional<std::string> dead_letter_topic;
  std::optional<std::string> dead_letter_file;
  std::optional<std::string> failed_file;  ///< --failed-file; without it one is made when needed
  std::vector<kafka::Header> headers;      ///< -H, after an envelope's own
  /// The options that set producer properties (-z, --partitioner), as (option, value), repeated
  /// in the resume command.
  std::vector<std::pair<std::string, std::string>> producer_options;
  bool envelopes = false;                  ///< --input-format envelope
  bool keep_partition = false;             ///< --keep-partition
  ProgressLine::Mode progress = ProgressLine::Mode::automatic;
};

/// Runs `sfcrime produce`: sends the input's records to `options.topic` and prints the summary
/// on stderr. The input is opened first (a missing file is reported before connecting).
/// @returns 0 when every record was delivered.
/// @throws the most important of its errors (InterruptedError 130/143, IoError 74,
///         UnavailableError 69, DataError 65), after printing the others; UsageError,
///         ConfigError, NoInputError before anything is sent.
int run_produce(const ProduceOptions& options, const Config& config);

}  // namespace sfcrime
