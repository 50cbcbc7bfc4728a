#include "sfcrime/kafka/group_reader.hpp"

#include <thread>

#include "sfcrime/base/errors.hpp"

namespace sfcrime::kafka {

GroupReader::GroupReader(const Config& config, Options options, std::function<void()> before_revoke)
    : Client(RD_KAFKA_CONSUMER, config, make(config, options)),
      options_(std::move(options)),
      before_revoke_(std::move(before_revoke)) {
  rd_kafka_poll_set_consumer(handle_.get());
  PartitionList topics(rd_kafka_topic_partition_list_new(static_cast<int>(options_.topics.size())));
  for (const std::string& t : options_.topics) rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  if (const auto err = rd_kafka_subscribe(handle_.get(), topics.get()))
    throw UnavailableError("cannot subscribe to '" + options_.input_topic + "': " + error_text(err));
}

GroupReader::~GroupReader() {
  close_consumer();
  destroy_consumer();
}

Message GroupReader::poll(std::chrono::milliseconds wait) {
  Message m(rd_kafka_consumer_poll(handle_.get(), static_cast<int>(wait.count())));
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  return m;
}

void GroupReader::rewind() {
  PartitionList parts(rd_kafka_topic_partition_list_new(static_cast<int>(assignment_.size())));
  for (const auto& [tp, start] : assignment_) rd_kafka_topic_partition_list_add(parts.get(), tp.first.c_str(), tp.second);
  assign_from_committed(parts.get());
  changed_ = true;
}

Conf GroupReader::make(const Config& config, const Options& o) {
  Conf conf = make_conf(config, {{"group.id", o.group},
                                 {"enable.auto.commit", "false"},
                                 {"enable.auto.offset.store", "false"},
                                 {"isolation.level", "read_committed"},
                                 {"enable.partition.eof", "true"},
                                 {"auto.offset.reset", "earliest"},
                                 {"log.connection.close", "false"}});
  rd_kafka_conf_set_rebalance_cb(conf.get(), &GroupReader::on_rebalance);
  return conf;
}

void GroupReader::on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                               void* opaque) {
  auto* self = static_cast<GroupReader*>(static_cast<Client*>(opaque));
  try {
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      self->assign_from_committed(parts);
    } else {
      // The open transaction holds records of partitions going away: abort it; the new
      // assignment starts from the committed offsets and the changelogs.
      self->before_revoke_();
      rd_kafka_assign(rk, nullptr);
      self->assignment_.clear();
      self->assigned_ = false;
    }
    self->changed_ = true;
  } catch (...) {
    self->error_ = std::current_exception();
    rd_kafka_assign(rk, nullptr);
    self->assignment_.clear();
    self->assigned_ = false;
    self->changed_ = true;
  }
}

void GroupReader::assign_from_committed(rd_kafka_topic_partition_list_t* parts) {
  rd_kafka_t* rk = handle_.get();
  const auto deadline = std::chrono::steady_clock::now() + config().timeout + std::chrono::seconds(15);
  for (;;) {
    const rd_kafka_resp_err_t cerr = rd_kafka_committed(rk, parts, static_cast<int>(config().timeout.count()));
    bool unstable = cerr == RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT;
    for (int i = 0; i < parts->cnt; ++i) unstable = unstable || parts->elems[i].err == RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT;
    if (!unstable && cerr == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (std::chrono::steady_clock::now() >= deadline || interrupted())
      throw UnavailableError("cannot read the committed offsets of group '" + options_.group +
                             "': " + error_text(cerr ? cerr : RD_KAFKA_RESP_ERR_UNSTABLE_OFFSET_COMMIT));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  assignment_.clear();
  for (int i = 0; i < parts->cnt; ++i) {
    rd_kafka_topic_partition_t& tp = parts->elems[i];
    if (tp.offset < 0)
      tp.offset = (options_.input_topic == tp.topic && !options_.from_beginning) ? RD_KAFKA_OFFSET_END
                                                                                  : RD_KAFKA_OFFSET_BEGINNING;
    assignment_[{tp.topic, tp.partition}] = tp.offset;
  }
  rd_kafka_assign(rk, parts);
  assigned_ = true;
}

}  // namespace sfcrime::kafka
