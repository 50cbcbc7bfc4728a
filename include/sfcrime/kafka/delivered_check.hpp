#pragma once
/// Whether records an earlier `produce` sent without an answer are in the topic (the
/// "possibly_delivered" lines of a failed file, records/kept_file.hpp), so that resuming sends
/// each record exactly once.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "sfcrime/kafka/envelope.hpp"
#include "sfcrime/kafka/kafka.hpp"

namespace sfcrime::kafka {

/// Reads one partition from offset `from` up to `end` or its end (the high watermark when
/// opened), whichever comes first, with an assigned consumer that never joins or commits to a
/// group.
class PartitionReader : public Client {
 public:
  /// @throws UnavailableError, InterruptedError as Client::watermarks(); NoInputError if the
  ///         topic does not exist.
  PartitionReader(const Config& config, const std::string& topic, std::int32_t partition, std::int64_t from,
                  std::int64_t end);
  ~PartitionReader() override;

  /// The next message in `out`, or false at the end (with `out` empty: the handle cannot be
  /// destroyed while a message of it is alive, rd_kafka_destroy() would wait for it).
  /// @throws UnavailableError when no message comes within Config::timeout; InterruptedError.
  bool next(Message& out);

 private:
  std::string topic_;
  std::int32_t partition_;
  std::int64_t next_ = 0;
  std::int64_t high_ = 0;
};

/// Answers, for the records of a failed file that an earlier run sent without an answer, whether
/// the broker wrote them. Such records were in flight, in order, right after the last record of
/// that partition the earlier run saw acknowledged (`after_offset`); the idempotent producer
/// keeps the order in a partition and the broker writes a prefix of them, so the records of one
/// (partition, after_offset) are matched, in file order, against the partition's messages from
/// after_offset + 1 on: a record found there was delivered; once one is not found, neither are
/// those after it. The search stops before the messages this run wrote itself (`own_start` gives,
/// once the run's deliveries so far are settled, the first offset it wrote to a partition), so
/// that a record sent again by this run is never taken for the earlier one.
class DeliveredCheck {
 public:
  using OwnStart = std::function<std::int64_t(std::int32_t partition)>;
  DeliveredCheck(const Config& config, std::string topic, OwnStart own_start)
      : config_(config), topic_(std::move(topic)), own_start_(std::move(own_start)) {}

  /// True when a message after `after_offset` in `partition` has the value `value` (the search
  /// goes on from there for the next record of the same group).
  /// @throws as PartitionReader.
  bool has_value(std::int32_t partition, std::int64_t after_offset, std::string_view value);
  /// True when a message after `after_offset` in `partition` is envelope `e` as `produce` sends
  /// it: the same key and value (a null one is not an empty one) and the same headers in the same
  /// order, `e`'s own followed by `extra` (-H). The timestamp is not compared (an envelope without
  /// one gets the time of sending). @throws as PartitionReader.
  bool has_message(std::int32_t partition, std::int64_t after_offset, const EnvelopeMessage& e,
                   std::span<const Header> extra);

 private:
  bool find(std::int32_t partition, std::int64_t after_offset, const std::function<bool(const rd_kafka_message_t&)>& same);
  struct Group {
    std::unique_ptr<PartitionReader> reader;
    bool exhausted = false;
  };
  const Config& config_;
  std::string topic_;
  OwnStart own_start_;
  std::map<std::pair<std::int32_t, std::int64_t>, Group> groups_;
};

}  // namespace sfcrime::kafka
