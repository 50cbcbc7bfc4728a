#pragma once
/// A consumer of several topics in one consumer group whose offsets commit with a transaction
/// (`aggregate --scale-out`, pipeline/topology.hpp): read_committed, no auto-commit, and each
/// partition assigned at the group's committed offset.
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sfcrime/kafka/kafka.hpp"

namespace sfcrime::kafka {

class GroupReader final : public Client {
 public:
  struct Options {
    std::string group;                ///< the consumer group
    std::vector<std::string> topics;  ///< subscribed to
    /// A partition of this topic without a committed offset starts at its end unless
    /// `from_beginning`; those of the other topics at their beginning.
    std::string input_topic;
    bool from_beginning = false;
  };

  /// Subscribes; the group assigns partitions on the first poll().
  /// @param before_revoke called before partitions are taken away (the caller aborts the open
  ///        transaction, which holds records of them).
  /// @throws UnavailableError when the subscription is refused; as Client.
  GroupReader(const Config& config, Options options, std::function<void()> before_revoke);
  ~GroupReader() override;

  /// The next message or event (an empty Message when none came within `wait`).
  /// @throws what a rebalance threw (UnavailableError: the committed offsets could not be read).
  Message poll(std::chrono::milliseconds wait);

  /// (topic, partition) -> the offset it starts at, for the current assignment.
  const std::map<std::pair<std::string, std::int32_t>, std::int64_t>& assignment() const { return assignment_; }
  /// True once after each change of the assignment.
  bool take_changed() { return std::exchange(changed_, false); }
  /// After an aborted transaction: every assigned partition starts again at the group's committed
  /// offset (what the aborted batch consumed is read again). @throws as the assignment does.
  void rewind();
  /// True while an assignment is in force (false between a revocation and the next assignment,
  /// when an empty set of tasks does not mean that there is nothing to do).
  bool assigned() const { return assigned_; }

 private:
  static Conf make(const Config& config, const Options& o);
  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts, void* opaque);
  // Assigns `parts` at the group's committed offsets (else as Options says) and records the
  // assignment. A transaction of a dead member may hold the offsets for a while
  // (UNSTABLE_OFFSET_COMMIT until transaction.timeout.ms aborts it): waited for.
  void assign_from_committed(rd_kafka_topic_partition_list_t* parts);

  Options options_;
  std::function<void()> before_revoke_;
  std::map<std::pair<std::string, std::int32_t>, std::int64_t> assignment_;
  bool changed_ = false;
  bool assigned_ = false;
  std::exception_ptr error_;
};

}  // namespace sfcrime::kafka
