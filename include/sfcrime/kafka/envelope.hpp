#pragma once
/// Messages as text: the NDJSON envelope that `consume --output json` writes and
/// `produce --input-format envelope` reads back (so the two copy a topic), kcat's --format
/// strings (`consume --format`).
///
/// The envelope, one JSON object per line (field order as written here):
///   {"topic": "T", "partition": P or null, "offset": O or null, "timestamp": ms or null,
///    "timestamp_type": "create" | "log_append" | null,
///    "key": "..." or null, "value": "..." or null,
///    "headers": [{"key": "name", "value": "..." or null}, ...]}
/// A key, value, header name or header value that is not valid UTF-8 is written in base64 (RFC
/// 4648, standard alphabet, padded) and flagged by a sibling field: "key_encoding": "base64",
/// "value_encoding": "base64", and inside a header object "key_encoding" / "value_encoding".
/// Without the flag the string is the bytes themselves (UTF-8). So every line is valid JSON
/// whatever the payloads are, and no byte is lost. "partition" and "offset" are null for a message
/// that has none (one that was not delivered, as `produce --failed-file` writes it).
#include <librdkafka/rdkafka.h>
#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sfcrime/base/bytes.hpp"
#include "sfcrime/kafka/kafka.hpp"
#include "sfcrime/kafka/producer.hpp"

namespace sfcrime {

/// Appends one envelope line (with its newline) for a consumed message `m` to `out`.
/// `topic` is the topic's name (m->rkt may be null for a message built by hand). A partition or
/// offset below 0 (a delivery report of a message that was not delivered) is written as null.
/// `create_time` (ms) is written, as a "create" timestamp, when librdkafka gives none for `m`:
/// rd_kafka_message_timestamp() has none for a delivery report with an error.
void append_envelope(const rd_kafka_message_t& m, std::string_view topic, std::string& out,
                     std::optional<std::int64_t> create_time = std::nullopt);
/// As above for the message of delivery report `r`: the message librdkafka reports, or for a
/// refusal by Producer::send() the message as it was given.
void append_envelope(const kafka::DeliveryReport& r, std::string_view topic, std::string& out,
                     std::optional<std::int64_t> create_time = std::nullopt);

/// What `produce --input-format envelope` sends for one envelope line.
struct EnvelopeMessage {
  std::optional<std::string> key;    ///< std::nullopt: a null key
  std::optional<std::string> value;  ///< std::nullopt: a null value (a tombstone)
  std::vector<kafka::Header> headers;
  /// CreateTime, ms since the epoch, > 0. std::nullopt (the envelope's timestamp was absent, null
  /// or 0): the producer's time of sending, as librdkafka reads a timestamp of 0 as "now" (and a
  /// topic with message.timestamp.type=LogAppendTime takes the broker's time anyway).
  std::optional<std::int64_t> timestamp;
  /// The envelope's partition (>= 0); read only when parse_envelope() is asked to, else none.
  std::optional<std::int32_t> partition;
};

/// Appends `m` as one envelope line (with its newline) to `out`, in the form above: "offset"
/// null, "partition" m.partition or null, "timestamp" null when `m` has none; `extra` headers
/// are written after `m`'s own (the -H headers `produce` adds).
void append_envelope(const EnvelopeMessage& m, std::string_view topic, std::string& out,
                     const std::vector<kafka::Header>& extra = {});

/// Reads one envelope (a parsed JSON value) into `out`. Accepted:
///  - the envelope above: "key", "value" (strings or null; absent means null), their
///    "*_encoding" flags ("base64"; "utf-8" or absent: the string as is), "headers" (an array of
///    {"key", "value", "key_encoding", "value_encoding"} objects), "timestamp" (an integer >= 0 or
///    null; 0 and null, like an absent one, leave EnvelopeMessage::timestamp empty: the time of
///    sending), "partition" (see `need_partition`); other fields are ignored;
///  - kcat's -J envelope: "payload" for the value, "ts" for the timestamp and "headers" as a flat
///    array ["name", "value", ...] (kcat 1.7 writes them so).
/// A negative timestamp is refused (Kafka has no such CreateTime), but for kcat -J's "ts": -1 (none).
/// @param need_partition false: "partition" is ignored, whatever it holds (a failed file's
///        envelope of a message never placed has none); true (`--keep-partition`): it must be an
///        integer from 0 to 2^31 - 1, and an absent, null or negative one is refused.
/// @returns an empty string when it is one, else the reason it is not (e.g.
///          "envelope field 'value_encoding' is 'hex' (expected base64 or utf-8)").
std::string parse_envelope(const simdjson::dom::element& v, EnvelopeMessage& out, bool need_partition = false);

/// A kcat -f format string (kcat 1.7's tokens), compiled once and applied to each message.
///   %t topic          %p partition        %o offset          %T timestamp (ms; -1 if none)
///   %k key            %K key length (-1 for a null key)
///   %s, %v value      %S value length (-1 for a null value)
///   %h headers as name=value,name=value (a null value prints NULL; no headers: nothing)
///   %% a percent sign; escapes \n \r \t \\ and \xNN (a byte in hex)
/// A null or empty key or value prints nothing, as kcat without -Z does.
class MessageFormat {
 public:
  /// @throws UsageError naming the bad token: an unknown %-token, a lone '%' at the end, or a
  ///         \x escape without hex digits.
  explicit MessageFormat(std::string_view format);

  /// Appends the formatted message to `out`.
  void append(const rd_kafka_message_t& m, std::string_view topic, std::string& out) const;

 private:
  enum class Token : char {
    text, topic, partition, offset, timestamp, key, key_length, value, value_length, headers
  };
  struct Part {
    Token token;
    std::string text;  // Token::text
  };
  std::vector<Part> parts_;
};

}  // namespace sfcrime
