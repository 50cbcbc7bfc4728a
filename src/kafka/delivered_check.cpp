#include "sfcrime/kafka/delivered_check.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>

#include "sfcrime/base/errors.hpp"

namespace sfcrime::kafka {

PartitionReader::PartitionReader(const Config& config, const std::string& topic, std::int32_t partition,
                                 std::int64_t from, std::int64_t end)
    : Client(RD_KAFKA_CONSUMER, config,
             make_conf(config, {{"group.id", "sfcrime-check-" + std::to_string(::getpid())},
                                {"enable.auto.commit", "false"},
                                {"enable.auto.offset.store", "false"},
                                {"enable.partition.eof", "true"},
                                {"log.connection.close", "false"}})),
      topic_(topic),
      partition_(partition) {
  rd_kafka_poll_set_consumer(get());
  partition_count(topic);  // a clear error when the topic is gone
  const Watermarks w = watermarks(topic, partition);
  next_ = std::max(from, w.low);
  high_ = std::min(w.high, end);
  if (next_ >= high_) return;
  PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = next_;
  if (const auto err = rd_kafka_assign(get(), list.get()))
    throw UnavailableError("cannot read '" + topic + "' partition " + std::to_string(partition) + ": " + error_text(err));
}

PartitionReader::~PartitionReader() {
  // Nothing to commit and no group to leave: do not wait for a coordinator.
  if (handle_) rd_kafka_destroy_flags(handle_.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

bool PartitionReader::next(Message& out) {
  out.reset();
  const auto deadline = std::chrono::steady_clock::now() + config().timeout;
  while (next_ < high_) {
    Message m(rd_kafka_consumer_poll(get(), 100));
    if (!m) {
      if (interrupted()) throw InterruptedError("interrupted while reading '" + topic_ + "'");
      if (std::chrono::steady_clock::now() >= deadline)
        throw UnavailableError(unreachable_message("'" + topic_ + "' partition " + std::to_string(partition_)));
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      next_ = high_;
      break;
    }
    if (m->err)
      throw UnavailableError("cannot read '" + topic_ + "' partition " + std::to_string(partition_) + ": " +
                             rd_kafka_message_errstr(m.get()));
    next_ = m->offset + 1;
    out = std::move(m);
    return true;
  }
  return false;
}

namespace {
/// True when the bytes at `data` are `bytes` (std::nullopt: null, which an empty payload or key is not).
bool same_bytes(const void* data, std::size_t size, const std::optional<std::string>& bytes) {
  if (!data || !bytes) return !data && !bytes;
  return size == bytes->size() && std::memcmp(data, bytes->data(), size) == 0;
}
}  // namespace

bool DeliveredCheck::find(std::int32_t partition, std::int64_t after_offset,
                          const std::function<bool(const rd_kafka_message_t&)>& same) {
  Group& g = groups_[{partition, after_offset}];
  if (g.exhausted) return false;
  if (!g.reader)
    g.reader = std::make_unique<PartitionReader>(config_, topic_, partition, after_offset + 1, own_start_(partition));
  Message m;
  while (g.reader->next(m))
    if (same(*m)) return true;
  g.exhausted = true;
  g.reader.reset();
  return false;
}

bool DeliveredCheck::has_value(std::int32_t partition, std::int64_t after_offset, std::string_view value) {
  return find(partition, after_offset, [&](const rd_kafka_message_t& m) {
    return m.payload && std::string_view(static_cast<const char*>(m.payload), m.len) == value;
  });
}

bool DeliveredCheck::has_message(std::int32_t partition, std::int64_t after_offset, const EnvelopeMessage& e,
                                 std::span<const Header> extra) {
  return find(partition, after_offset, [&](const rd_kafka_message_t& m) {
    if (!same_bytes(m.key, m.key_len, e.key) || !same_bytes(m.payload, m.len, e.value)) return false;
    rd_kafka_headers_t* hs = nullptr;
    // rd_kafka_message_headers() takes a non-const message: it parses the headers on first use.
    const std::size_t n = rd_kafka_message_headers(const_cast<rd_kafka_message_t*>(&m), &hs) == RD_KAFKA_RESP_ERR_NO_ERROR
                              ? rd_kafka_header_cnt(hs)
                              : 0;
    if (n != e.headers.size() + extra.size()) return false;
    for (std::size_t i = 0; i < n; ++i) {
      const Header& want = i < e.headers.size() ? e.headers[i] : extra[i - e.headers.size()];
      const char* name = nullptr;
      const void* value = nullptr;
      std::size_t size = 0;
      if (rd_kafka_header_get_all(hs, i, &name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR || want.name != name ||
          !same_bytes(value, size, want.value))
        return false;
    }
    return true;
  });
}

}  // namespace sfcrime::kafka
