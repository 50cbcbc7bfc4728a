#pragma once
/// What `aggregate` writes to topics besides its input's offsets: the answer rows of
/// --output-topic and the headers of the records it sends to --late-topic.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sfcrime/kafka/kafka.hpp"
#include "sfcrime/kafka/producer.hpp"
#include "sfcrime/stream/sinks.hpp"

namespace sfcrime {

/// A sink that sends one message per row to `producer`'s topic number `topic_index` (0: the
/// topic it was made for; see kafka::Producer::add_topic), named `topic`: key the compact JSON
/// array [window_start, key1, ...], value the JSON row. end_batch() waits until every row is
/// delivered (in a transaction: written, visible once the transaction commits).
/// @throws UnavailableError from end_batch() when a row is not delivered within the producer's
///         message.timeout.ms.
std::unique_ptr<Sink> make_topic_sink(kafka::Producer& producer, std::string topic, RowLabels labels,
                                      std::size_t topic_index = 0);

/// The headers of a late record sent to --late-topic: why it is late and the watermark
/// (sfcrime.late.reason, sfcrime.late.watermark); the caller adds where it came from.
std::vector<kafka::Header> late_headers(std::int64_t event_ms, std::int64_t watermark);

}  // namespace sfcrime
