#pragma once
/// The Admin API: topics, their configuration and partitions, consumer groups and their offsets.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sfcrime/kafka/kafka.hpp"

namespace sfcrime::kafka {

/// A handle used only for the Admin API and metadata (a producer handle that never produces).
class Admin : public Client {
 public:
  explicit Admin(const Config& config);
  ~Admin() override;

  /// A topic to create: name, partitions, replication factor, topic configs (key, value).
  struct NewTopic {
    std::string name;
    int partitions = 1;
    int replication_factor = 1;
    std::vector<Property> configs;
  };

  /// Creates a topic through CreateTopics (librdkafka's rd_kafka_CreateTopics), then waits (up
  /// to Config::timeout) until every partition has a leader that answers, so the next command can
  /// use the topic at once.
  /// @returns true if created, false if it existed and `if_not_exists` was set.
  /// @throws Error(Exit::failure) with the broker's reason (topic exists, invalid name, invalid
  ///         replication factor, invalid config); UnavailableError if the broker does not answer
  ///         within Config::timeout, or if the topic was created but its partitions do not all
  ///         have an answering leader within Config::timeout (the message says it was created).
  bool create_topic(const NewTopic& topic, bool if_not_exists);

  /// Deletes a topic through DeleteTopics.
  /// @returns true if deleted, false if it did not exist and `if_exists` was set.
  /// @throws NoInputError if it does not exist (and not if_exists), Error on other refusals.
  bool delete_topic(const std::string& name, bool if_exists);

  /// Waits up to Config::timeout until metadata shows `name` with `partitions` partitions, each
  /// with a leader, and a leader answers an offsets request. @returns false on timeout.
  bool wait_until_ready(const std::string& name, int partitions);

  /// Asks the broker to validate the creation of `topic` without creating it (CreateTopics with
  /// validate_only, as kafka-topics.sh --dry-run / rpk topic create --dry-run).
  /// @returns true if the broker accepts it, false if the topic exists and `if_not_exists` is set.
  /// @throws as create_topic().
  bool validate_create_topic(const NewTopic& topic, bool if_not_exists);

  /// One configuration entry of a topic as DescribeConfigs reports it.
  struct ConfigEntry {
    std::string name;                  ///< e.g. "retention.ms"
    std::optional<std::string> value;  ///< std::nullopt: sensitive (the broker never sends it) or unset
    std::string source_name;  ///< librdkafka's name of the source: "DYNAMIC_TOPIC_CONFIG", "DEFAULT_CONFIG", ...
    bool topic_override = false;  ///< set on the topic itself (source DYNAMIC_TOPIC_CONFIG)
    bool read_only = false;   ///< cannot be changed with AlterConfigs
    bool is_default = false;  ///< the broker's default value
    bool sensitive = false;   ///< a secret: its value is never returned
  };

  /// Every configuration entry of topic `name` (DescribeConfigs on the TOPIC resource), sorted by
  /// name; values of sensitive entries are std::nullopt (librdkafka's rd_kafka_ConfigEntry_value).
  /// @throws NoInputError when the topic does not exist; UnavailableError when the broker does not
  ///         answer within Config::timeout; Error(Exit::failure) on another refusal.
  std::vector<ConfigEntry> describe_topic_configs(const std::string& name);

  /// Sets the keys of `sets` and removes those of `deletes` (back to the broker's default) in the
  /// dynamic configuration of topic `name`, leaving its other keys alone, in one request
  /// (IncrementalAlterConfigs, KIP-339: what kafka-configs.sh --alter and rpk topic alter-config
  /// send).
  /// @param validate_only the broker validates the request and changes nothing.
  /// @throws NoInputError when the topic does not exist; Error(Exit::failure) with the broker's
  ///         reason (unknown key, invalid value); UnavailableError as describe_topic_configs();
  ///         UsageError when librdkafka refuses a key locally.
  void incremental_alter_topic_configs(const std::string& name, const std::vector<Property>& sets,
                                       const std::vector<std::string>& deletes, bool validate_only);

  /// Grows topic `name` to `total` partitions (CreatePartitions), then, unless `validate_only`,
  /// waits (Config::timeout) until every new partition has a leader.
  /// @throws NoInputError when the topic does not exist; Error(Exit::failure) with the broker's
  ///         reason (fewer partitions than now, too many); UnavailableError when no answer comes,
  ///         and also when the partitions were added but not every one had a leader that answers
  ///         within Config::timeout (the message says they were added, so that nobody adds them
  ///         again).
  void create_partitions(const std::string& name, int total, bool validate_only);

  // --- consumer groups --------------------------------------------------------------------------

  /// One group as ListConsumerGroups reports it.
  struct GroupListing {
    std::string id;
    std::string state;  ///< "Stable", "Empty", "PreparingRebalance", ... (rd_kafka_consumer_group_state_name)
    bool simple = false;  ///< no protocol type: offsets committed by clients that never joined
  };
  /// Every consumer group of the cluster (ListConsumerGroups, asked of every broker), sorted by id.
  /// @throws UnavailableError when a broker does not answer within Config::timeout.
  std::vector<GroupListing> list_groups();

  /// A member of a group and the partitions assigned to it.
  struct GroupMember {
    std::string member_id;    ///< the consumer id the coordinator gave
    std::string instance_id;  ///< group.instance.id of a static member, "" if none
    std::string client_id;
    std::string host;  ///< as the coordinator saw it, e.g. "/127.0.0.1"
    std::vector<std::pair<std::string, std::int32_t>> assignment;  ///< (topic, partition)
  };
  /// A group as DescribeConsumerGroups reports it.
  struct GroupDescription {
    std::string id;
    std::string state;     ///< as GroupListing::state; "Dead" for a group the coordinator does not know
    std::string assignor;  ///< partition assignor, e.g. "range"; "" when empty
    bool simple = false;
    std::int32_t coordinator = -1;  ///< broker id of the group coordinator, -1 if unknown
    std::string coordinator_host;   ///< "host:port", "" if unknown
    std::vector<GroupMember> members;
  };
  /// Describes the groups `ids` (DescribeConsumerGroups), in the order given. A group the
  /// coordinator does not know comes back with state "Dead" and no members (GROUP_ID_NOT_FOUND
  /// from newer brokers is reported the same way): callers decide whether that is an error.
  /// @throws UnavailableError when no answer comes within Config::timeout; Error(Exit::failure)
  ///         on another refusal.
  std::vector<GroupDescription> describe_groups(const std::vector<std::string>& ids);

  /// A group's committed offset for one partition: the next offset the group reads.
  using CommittedOffset = TopicPartitionOffset;
  /// Every committed offset of group `id` (ListConsumerGroupOffsets over all partitions), sorted by
  /// topic and partition; partitions without a committed offset are left out.
  /// @throws UnavailableError when no answer comes within Config::timeout; Error on a refusal.
  std::vector<CommittedOffset> committed_offsets(const std::string& id);

  /// Sets the committed offsets of group `id` (AlterConsumerGroupOffsets); the broker accepts it
  /// only while the group has no members.
  /// @throws Error(Exit::failure) with the broker's reason per partition (a non-empty group gives
  ///         UNKNOWN_MEMBER_ID, reported as "the group has members"); UnavailableError on timeout.
  void alter_committed_offsets(const std::string& id, const std::vector<CommittedOffset>& offsets);

  /// Deletes group `id` and its committed offsets (DeleteGroups).
  /// @throws NoInputError when the group does not exist; Error(Exit::failure) with the broker's
  ///         reason (NON_EMPTY_GROUP: it has members); UnavailableError on timeout.
  void delete_group(const std::string& id);

  /// The earliest offset of `topic` `partition` whose timestamp is >= `timestamp_ms`
  /// (Client::offsets_for_time), or the high watermark when there is none.
  /// @throws UnavailableError, InterruptedError as Client::offsets_for_time().
  std::int64_t offset_for_time(const std::string& topic, std::int32_t partition, std::int64_t timestamp_ms);
};

}  // namespace sfcrime::kafka
