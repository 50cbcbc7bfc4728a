#include "sfcrime/kafka/source.hpp"

#include <algorithm>
#include <cerrno>
#include <array>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "sfcrime/base/datetime.hpp"
#include "sfcrime/base/duration.hpp"
#include "sfcrime/base/errors.hpp"
#include "sfcrime/base/suggest.hpp"
#include "sfcrime/kafka/admin.hpp"

namespace sfcrime {

StartOffset parse_start_offset(std::string_view text, std::int64_t now_ms) {
  const std::string forms =
      " (expected beginning, end, an offset N, -N for N before the end, or @TIME: milliseconds since the epoch, "
      "an ISO date or date-time in UTC such as @2024-05-01T13:00:00, or @-1h for an hour ago)";
  auto bad = [&](const std::string& why) {
    return OptionError("offset", "invalid --offset '" + std::string(text) + "'" + (why.empty() ? "" : ": " + why) + forms);
  };
  using Kind = StartOffset::Kind;
  if (text == "beginning" || text == "start" || text == "oldest" || text == "earliest") return {Kind::beginning, 0};
  if (text == "end" || text == "newest" || text == "latest") return {Kind::end, 0};
  auto integer = [](std::string_view digits, std::int64_t& out) {
    if (digits.empty() || digits.size() > 18) return false;
    out = 0;
    for (const char c : digits) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + (c - '0');
    }
    return true;
  };
  std::int64_t n = 0;
  if (!text.empty() && text[0] == '@') {
    std::string_view t = text.substr(1);
    if (integer(t, n)) return {Kind::timestamp, n};
    if (!t.empty() && t[0] == '-') {
      const std::chrono::milliseconds ago = parse_duration(t.substr(1), "--offset @-");
      return {Kind::timestamp, std::max<std::int64_t>(0, now_ms - ago.count())};
    }
    if (!t.empty() && (t.back() == 'Z' || t.back() == 'z')) t.remove_suffix(1);
    std::string dt(t);
    if (dt.size() == 10) dt += "T00:00:00";  // a date alone: its midnight
    if (const auto ms = parse_naive_datetime(dt)) {
      if (*ms < 0) throw bad("the time is before 1970");
      return {Kind::timestamp, *ms};  // the naive epoch read as UTC
    }
    throw bad("not a time");
  }
  if (!text.empty() && text[0] == '-' && integer(text.substr(1), n)) {
    if (n == 0) throw bad("-0 would start at the end; write end");
    return {Kind::from_end, n};
  }
  if (integer(text, n)) return {Kind::absolute, n};
  const std::string best = suggest(text, {"beginning", "end"});
  throw bad(best.empty() ? "" : "did you mean '" + best + "'?");
}

std::vector<kafka::Property> partition_queue_defaults(int partitions) {
  const int kib = std::clamp(kPrefetchTotalKiB / std::max(partitions, 1), kPartitionPrefetchMinKiB, kPartitionPrefetchKiB);
  return {{"queued.max.messages.kbytes", std::to_string(kib)},
          {"fetch.message.max.bytes", std::to_string(kib * 1024)},  // alias max.partition.fetch.bytes
          {"fetch.queue.backoff.ms", std::to_string(kFetchQueueBackoffMs)}};
}

namespace {
kafka::Conf consumer_conf(const Config& config, const SourceOptions& o,
                          void (*rebalance)(rd_kafka_t*, rd_kafka_resp_err_t, rd_kafka_topic_partition_list_t*, void*)) {
  std::vector<kafka::Property> defaults = {
      {"enable.partition.eof", "true"},
      {"log.connection.close", "false"},
      {"auto.offset.reset", o.from_beginning ? "earliest" : "latest"},
  };
  if (o.group && o.transactional) {
    // Assigned, not subscribed: the group id only names the committed offsets, which the
    // caller's transactions write.
    defaults.emplace_back("group.id", *o.group);
    defaults.emplace_back("enable.auto.commit", "false");
    defaults.emplace_back("enable.auto.offset.store", "false");
    defaults.emplace_back("isolation.level", "read_committed");
  } else if (o.group) {
    defaults.emplace_back("group.id", *o.group);
    // Stored offsets are those of messages next() returned; they are committed every 5 s
    // (auto-commit) or only by commit() when the caller asks for it.
    defaults.emplace_back("enable.auto.commit", o.manual_commit ? "false" : "true");
    if (o.store_processed) defaults.emplace_back("enable.auto.offset.store", "false");  // commit() names the offsets
  } else {
    // librdkafka 2.0's rd_kafka_assign() wants a group.id even though an assigned consumer never
    // joins or commits to a group; this one is never used on the broker.
    defaults.emplace_back("group.id", "sfcrime-assign-" + std::to_string(::getpid()));
    defaults.emplace_back("enable.auto.commit", "false");
    defaults.emplace_back("enable.auto.offset.store", "false");
  }
  if (o.partition_queues) {
    // With a queue per partition, queued.max.messages.kbytes bounds each partition's prefetch
    // (librdkafka's CONFIGURATION.md): 1 MiB, one fetch's worth (max.partition.fetch.bytes), keeps
    // the merge fed where the default, 64 MiB a partition, held the whole topic. A full queue is
    // fetched again after fetch.queue.backoff.ms (librdkafka 2.1+; default 1 s, a stall here).
    // The prefetch is bounded in total too: a topic of many partitions gets less per partition,
    // which needs its partition count before the handle exists (one more metadata request).
    int parts = static_cast<int>(o.partitions.size());
    if (o.group || parts == 0) parts = kafka::Admin(config).partition_count(o.topic);
    for (kafka::Property& p : partition_queue_defaults(parts)) defaults.push_back(std::move(p));
  }
  kafka::Conf conf = kafka::make_conf(config, defaults);
  if (o.group && !o.transactional) rd_kafka_conf_set_rebalance_cb(conf.get(), rebalance);
  return conf;
}
}  // namespace

TopicSource::TopicSource(const Config& config, SourceOptions options)
    : Client(RD_KAFKA_CONSUMER, config, consumer_conf(config, options, &TopicSource::on_rebalance)),
      options_(std::move(options)),
      started_(std::chrono::steady_clock::now()) {
  // Serve error_cb, rebalance and log events through consumer_poll in both modes, so that
  // all_brokers_down() is seen without a group too.
  rd_kafka_poll_set_consumer(handle_.get());
  const int count = partition_count(options_.topic);
  std::vector<std::int32_t> chosen = options_.group ? std::vector<std::int32_t>{} : options_.partitions;
  // A partition named twice is read once (rd_kafka_assign refuses a list with duplicates).
  std::sort(chosen.begin(), chosen.end());
  chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
  if (chosen.empty())
    for (std::int32_t p = 0; p < count; ++p) chosen.push_back(p);
  for (const std::int32_t p : chosen)
    if (p < 0 || p >= count)
      throw NoInputError("topic '" + options_.topic + "' has no partition " + std::to_string(p) + " (it has " +
                         (count == 1 ? std::string("only partition 0") : "partitions 0 to " + std::to_string(count - 1)) +
                         "; see --partition)");
  const int parts = static_cast<int>(chosen.size());
  kafka::PartitionList list(rd_kafka_topic_partition_list_new(parts));
  if (!options_.group || options_.transactional) {
    for (const std::int32_t p : chosen)
      rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), p)->offset =
          options_.from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    if (options_.transactional) {
      // Every partition, from the group's committed offsets (written by the caller's transactions;
      // librdkafka asks for stable offsets with read_committed, KIP-447), else as above.
      kafka::PartitionList committed(rd_kafka_topic_partition_list_copy(list.get()));
      const rd_kafka_resp_err_t err =
          rd_kafka_committed(handle_.get(), committed.get(), static_cast<int>(config.timeout.count()));
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw UnavailableError("cannot read the committed offsets of group '" + *options_.group + "' within " +
                               std::to_string(config.timeout.count() / 1000) + " s: " + kafka::error_text(err));
      for (int i = 0; i < committed->cnt; ++i) {
        const rd_kafka_topic_partition_t& c = committed->elems[i];
        if (c.err != RD_KAFKA_RESP_ERR_NO_ERROR)
          throw UnavailableError("cannot read the committed offset of group '" + *options_.group + "' for '" +
                                 options_.topic + "' partition " + std::to_string(c.partition) + ": " +
                                 kafka::error_text(c.err));
        if (c.offset >= 0) {
          list->elems[i].offset = c.offset;
          next_offset_[c.partition] = c.offset;
        }
      }
    }
    // The watermarks of every partition in one lookup, when the start or the end needs them.
    const bool clamp = options_.start && !options_.group &&
                       (options_.start->kind == StartOffset::Kind::absolute ||
                        options_.start->kind == StartOffset::Kind::from_end);
    std::vector<kafka::Watermarks> marks;
    if (options_.exit_at_end || clamp) marks = watermarks(options_.topic, chosen);
    if (options_.start && !options_.group) resolve_start(list.get(), marks);
    for (int i = 0; i < parts; ++i) {
      const std::int32_t p = list->elems[i].partition;
      if (options_.exit_at_end) {
        const kafka::Watermarks& w = marks[static_cast<std::size_t>(i)];
        const std::int64_t at = list->elems[i].offset;
        const std::int64_t start = at >= 0 ? at : (at == RD_KAFKA_OFFSET_BEGINNING ? w.low : w.high);
        track(p, start, w.high);
        // Start at the offset just read rather than a logical one: librdkafka would look it up
        // again, and its first fetch then came 500 ms late in one run of three (real data, 6
        // partitions). Should the log start move meanwhile, auto.offset.reset applies.
        list->elems[i].offset = start;
      }
      assignment_.insert(p);
    }
    start_queues();
    split_queues(list.get());
    if (const auto err = rd_kafka_assign(handle_.get(), list.get())) {
      stop_queues();  // no destructor runs for a constructor that throws
      throw UnavailableError("cannot assign the partitions of '" + options_.topic + "': " + kafka::error_text(err));
    }
    assigned_ = true;
  } else {
    rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), RD_KAFKA_PARTITION_UA);
    start_queues();
    if (const auto err = rd_kafka_subscribe(handle_.get(), list.get())) {
      stop_queues();
      throw UnavailableError("cannot subscribe to '" + options_.topic + "': " + kafka::error_text(err));
    }
  }
}

void TopicSource::resolve_start(rd_kafka_topic_partition_list_t* list, const std::vector<kafka::Watermarks>& marks) {
  const StartOffset& at = *options_.start;
  std::vector<std::int32_t> partitions;
  for (int i = 0; i < list->cnt; ++i) partitions.push_back(list->elems[i].partition);
  // By time: the earliest offset whose timestamp is at or after it, per partition (ListOffsets by
  // time, KIP-79), all in one lookup; -1 where no message is that recent: that partition starts
  // at its end.
  const std::vector<std::int64_t> by_time = at.kind == StartOffset::Kind::timestamp
                                                ? offsets_for_time(options_.topic, partitions, at.value)
                                                : std::vector<std::int64_t>{};
  for (int i = 0; i < list->cnt; ++i) {
    std::int64_t& offset = list->elems[i].offset;
    const auto k = static_cast<std::size_t>(i);
    switch (at.kind) {
      case StartOffset::Kind::beginning: offset = RD_KAFKA_OFFSET_BEGINNING; break;
      case StartOffset::Kind::end: offset = RD_KAFKA_OFFSET_END; break;
      case StartOffset::Kind::timestamp: offset = by_time[k] >= 0 ? by_time[k] : RD_KAFKA_OFFSET_END; break;
      // Explicit, so that an offset past either end is clamped to the messages held rather than
      // sent through auto.offset.reset.
      case StartOffset::Kind::absolute: offset = std::clamp(at.value, marks[k].low, marks[k].high); break;
      case StartOffset::Kind::from_end: offset = std::max(marks[k].low, marks[k].high - at.value); break;
    }
  }
}

TopicSource::~TopicSource() {
  stop_queues();
  try {
    close();
  } catch (...) {
  }
  destroy_consumer();
}

void TopicSource::start_queues() {
  if (!options_.partition_queues) return;
  if (::pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0)
    throw IoError(std::string("cannot make a pipe: ") + std::strerror(errno));
  consumer_queue_ = rd_kafka_queue_get_consumer(handle_.get());
  rd_kafka_queue_io_event_enable(consumer_queue_, wake_[1], "c", 1);
}

void TopicSource::stop_queues() noexcept {
  // Every queue reference goes before the handle (rd_kafka_destroy waits for them), and no queue
  // writes to the pipe once it is closed.
  drop_queues(nullptr);
  if (consumer_queue_) {
    rd_kafka_queue_io_event_enable(consumer_queue_, -1, nullptr, 0);
    rd_kafka_queue_destroy(consumer_queue_);
    consumer_queue_ = nullptr;
  }
  for (int& fd : wake_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

void TopicSource::split_queues(const rd_kafka_topic_partition_list_t* parts) {
  if (!options_.partition_queues) return;
  for (int i = 0; i < parts->cnt; ++i) {
    const std::int32_t p = parts->elems[i].partition;
    if (queues_.count(p)) continue;
    rd_kafka_queue_t* q = rd_kafka_queue_get_partition(handle_.get(), parts->elems[i].topic, p);
    if (!q) throw NoInputError("topic '" + options_.topic + "' has no partition " + std::to_string(p));
    // Not forwarded to the consumer queue; done before the assignment, so that librdkafka's
    // fetch start leaves it so (it forwards only queues the application has not).
    rd_kafka_queue_forward(q, nullptr);
    rd_kafka_queue_io_event_enable(q, wake_[1], "p", 1);
    queues_[p] = q;
  }
}

void TopicSource::drop_queues(const rd_kafka_topic_partition_list_t* parts) noexcept {
  auto drop = [&](std::int32_t p) {
    if (const auto it = queues_.find(p); it != queues_.end()) {
      rd_kafka_queue_io_event_enable(it->second, -1, nullptr, 0);  // the queue outlives this reference
      rd_kafka_queue_destroy(it->second);
      queues_.erase(it);
    }
  };
  if (!parts) {
    while (!queues_.empty()) drop(queues_.begin()->first);
    return;
  }
  for (int i = 0; i < parts->cnt; ++i) drop(parts->elems[i].partition);
}

kafka::PartitionList TopicSource::processed_offsets() const {
  kafka::PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(assignment_.size())));
  for (const std::int32_t p : assignment_)
    if (const auto it = next_offset_.find(p); it != next_offset_.end())
      rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), p)->offset = it->second;
  return list;
}

void TopicSource::commit(bool last) {
  if (!options_.group || options_.transactional) return;
  if (!options_.store_processed) {
    check_commit(commit_bounded(nullptr), last);
    return;
  }
  // The processed positions of the partitions this process holds now (a revoked partition's
  // position was committed when it was revoked).
  kafka::PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(assignment_.size())));
  for (const std::int32_t p : assignment_)
    rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), p);
  commit_partitions(list.get(), last);
}

void TopicSource::commit_partitions(const rd_kafka_topic_partition_list_t* parts, bool last) {
  kafka::PartitionList list(rd_kafka_topic_partition_list_new(parts->cnt));
  for (int i = 0; i < parts->cnt; ++i)
    if (const auto it = next_offset_.find(parts->elems[i].partition); it != next_offset_.end())
      rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), it->first)->offset = it->second;
  if (list->cnt == 0) return;
  check_commit(commit_bounded(list.get()), last);
}

rd_kafka_resp_err_t TopicSource::commit_bounded(const rd_kafka_topic_partition_list_t* offsets) {
  // rd_kafka_commit(..., async=0) has no time bound (it hung for minutes with 2 of 3 brokers
  // gone): commit through a queue and wait at most Config::timeout for the result.
  rd_kafka_queue_t* q = rd_kafka_queue_new(handle_.get());
  rd_kafka_resp_err_t err = rd_kafka_commit_queue(handle_.get(), offsets, q, nullptr, nullptr);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const auto deadline = std::chrono::steady_clock::now() + config().timeout;
    err = RD_KAFKA_RESP_ERR__TIMED_OUT;
    while (std::chrono::steady_clock::now() < deadline) {
      if (rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 500)) {
        const bool result = rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT;
        if (result) err = rd_kafka_event_error(ev);
        rd_kafka_event_destroy(ev);
        if (result) break;
      }
    }
  }
  rd_kafka_queue_destroy(q);
  if (err == RD_KAFKA_RESP_ERR__TIMED_OUT)
    throw UnavailableError("cannot commit the offsets of group '" + options_.group.value_or("") + "' within " +
                           std::to_string(config().timeout.count() / 1000) +
                           " s (is the group coordinator available? see --timeout)");
  return err;
}

void TopicSource::check_commit(rd_kafka_resp_err_t err, bool last) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
    case RD_KAFKA_RESP_ERR__NO_OFFSET:
      return;
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
    case RD_KAFKA_RESP_ERR__STATE:
      if (last)
        throw UnavailableError("cannot commit the offsets of group '" + *options_.group + "': " +
                               kafka::error_text(err) +
                               " (what was read is written above, but the group's next run reads it again)");
      // Routine while members join or leave: the next batch (or the revocation) commits again.
      if (config().verbosity >= 1)
        std::fprintf(stderr, "sfcrime: commit of group '%s' postponed: %s\n", options_.group->c_str(),
                     kafka::error_text(err).c_str());
      return;
    default:
      throw UnavailableError("cannot commit the offsets of group '" + *options_.group + "': " + kafka::error_text(err));
  }
}

void TopicSource::close() {
  if (closed_) return;
  closed_ = true;
  close_consumer();
}

void TopicSource::track(std::int32_t partition, std::int64_t start, std::int64_t high) {
  if (start < high)
    pending_[partition] = high;
  else
    pending_.erase(partition);
}

void TopicSource::on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                               void* opaque) {
  auto* self = static_cast<TopicSource*>(static_cast<kafka::Client*>(opaque));
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  try {
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      // Where each partition will start: the committed offset, else auto.offset.reset.
      const rd_kafka_resp_err_t cerr = rd_kafka_committed(rk, parts, static_cast<int>(self->config().timeout.count()));
      if (cerr != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw UnavailableError("cannot read the committed offsets of group '" + self->options_.group.value_or("") +
                               "': " + kafka::error_text(cerr));
      // With exit_at_end: the watermarks of every partition assigned, in one lookup.
      std::vector<kafka::Watermarks> marks;
      if (self->options_.exit_at_end) {
        std::vector<std::int32_t> ps;
        for (int i = 0; i < parts->cnt; ++i) ps.push_back(parts->elems[i].partition);
        marks = self->watermarks(self->options_.topic, ps);
      }
      for (int i = 0; i < parts->cnt; ++i) {
        rd_kafka_topic_partition_t& tp = parts->elems[i];
        // A partition this process already read (revoked and given back by an eager rebalance)
        // resumes where this process stopped, not at an older committed offset: re-reading
        // would count its records twice here.
        if (const auto it = self->next_offset_.find(tp.partition); it != self->next_offset_.end())
          tp.offset = std::max<std::int64_t>(tp.offset, it->second);
        if (self->options_.exit_at_end) {
          const kafka::Watermarks& w = marks[static_cast<std::size_t>(i)];
          const std::int64_t start = tp.offset >= 0 ? tp.offset : (self->options_.from_beginning ? w.low : w.high);
          self->track(tp.partition, start, w.high);
          tp.offset = start;  // as in the constructor: no second lookup by librdkafka
        }
      }
      self->split_queues(parts);
      if (cooperative)
        rd_kafka_error_destroy(rd_kafka_incremental_assign(rk, parts));
      else
        rd_kafka_assign(rk, parts);
      for (int i = 0; i < parts->cnt; ++i) {
        self->assignment_.insert(parts->elems[i].partition);
        self->at_eof_.erase(parts->elems[i].partition);
      }
      self->assigned_ = true;
    } else {
      // Commit what was processed of the partitions going away, so their next owner starts after
      // it rather than at an older commit and counts it twice (as Kafka Streams commits on revoke).
      if (self->options_.store_processed) self->commit_partitions(parts);
      for (int i = 0; i < parts->cnt; ++i) {
        const std::int32_t p = parts->elems[i].partition;
        self->pending_.erase(p);
        self->assignment_.erase(p);
        self->at_eof_.erase(p);
        if (self->on_revoked_) self->on_revoked_(p);
      }
      if (cooperative)
        rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
      else
        rd_kafka_assign(rk, nullptr);
      self->drop_queues(parts);
      // Not at the end while a rebalance is under way: wait for the next assignment (an empty one
      // included) before at_end() may say so.
      rd_kafka_topic_partition_list_t* now = nullptr;
      const bool some_left = rd_kafka_assignment(rk, &now) == RD_KAFKA_RESP_ERR_NO_ERROR && now && now->cnt > 0;
      if (now) rd_kafka_topic_partition_list_destroy(now);
      if (!some_left) self->assigned_ = false;
    }
  } catch (...) {
    self->assigned_ = false;
    for (const std::int32_t p : self->assignment_)
      if (self->on_revoked_) self->on_revoked_(p);
    self->assignment_.clear();
    // Exceptions must not unwind through librdkafka's C frames: next() rethrows it.
    self->rebalance_error_ = std::current_exception();
    if (cooperative)
      rd_kafka_error_destroy(rd_kafka_incremental_unassign(rk, parts));
    else
      rd_kafka_assign(rk, nullptr);
    self->drop_queues(nullptr);
  }
}

bool TopicSource::at_end() const noexcept { return options_.exit_at_end && assigned_ && pending_.empty(); }

kafka::Message TopicSource::next(std::chrono::milliseconds wait) {
  auto rethrow = [this] {
    if (rebalance_error_) std::rethrow_exception(std::exchange(rebalance_error_, nullptr));
  };
  rethrow();
  if (at_end()) return nullptr;
  kafka::Message m(rd_kafka_consumer_poll(handle_.get(), static_cast<int>(wait.count())));
  rethrow();
  if (!m) {
    if (options_.exit_at_end) {
      const auto now = std::chrono::steady_clock::now();
      if (!assigned_ && now - started_ > config().timeout + std::chrono::seconds(45))
        throw UnavailableError("no partition of '" + options_.topic + "' was assigned to group '" +
                               options_.group.value_or("") + "' within " +
                               std::to_string((config().timeout + std::chrono::seconds(45)).count() / 1000) +
                               " s (is the group coordinator available?)");
      if (all_brokers_down()) {
        if (down_since_ == std::chrono::steady_clock::time_point{}) down_since_ = now;
        if (now - down_since_ > config().timeout)
          throw UnavailableError(unreachable_message("messages of '" + options_.topic + "'"));
      }
    }
    return nullptr;
  }
  return accept(m) ? std::move(m) : nullptr;
}

bool TopicSource::accept(const kafka::Message& m) {
  if (m->err) {
    const rd_kafka_resp_err_t err = m->err;
    if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (assignment_.count(m->partition)) at_eof_.insert(m->partition);
      const auto it = pending_.find(m->partition);
      if (it != pending_.end() && m->offset >= it->second) pending_.erase(it);
      return false;
    }
    kafka::check_consumer_error(*this, m, options_.topic, config().verbosity);
    return false;
  }
  note_alive();
  down_since_ = {};
  ++consumed_;
  at_eof_.erase(m->partition);
  if (!options_.store_processed) next_offset_[m->partition] = m->offset + 1;
  const auto it = pending_.find(m->partition);
  if (it != pending_.end() && m->offset + 1 >= it->second) pending_.erase(it);
  return true;
}

void TopicSource::serve() {
  // Only events come through the consumer queue once every assigned partition has its own; a
  // message would mean a partition that was not split (an internal error, never dropped silently).
  kafka::Message m = next(std::chrono::milliseconds(0));
  if (m)
    throw std::logic_error("a message of '" + options_.topic + "' partition " + std::to_string(m->partition) +
                           " came through the consumer queue");
}

void TopicSource::wait(std::chrono::milliseconds wait) {
  pollfd p{wake_[0], POLLIN, 0};
  if (wake_[0] < 0 || ::poll(&p, 1, static_cast<int>(wait.count())) <= 0) return;
  char drain[256];
  while (::read(wake_[0], drain, sizeof drain) > 0) {
  }
}

std::size_t TopicSource::poll_partition(std::int32_t partition, std::vector<kafka::Message>& out, std::size_t max) {
  if (rebalance_error_) std::rethrow_exception(std::exchange(rebalance_error_, nullptr));
  const auto q = queues_.find(partition);
  if (q == queues_.end()) return 0;
  constexpr std::size_t kMax = 512;
  rd_kafka_message_t* got[kMax];
  const ssize_t n = rd_kafka_consume_batch_queue(q->second, 0, got,
                                                 std::min(max, kMax));
  // Every message is owned first, so that all are freed when accept() throws for one of them.
  std::array<kafka::Message, kMax> owned;
  for (ssize_t i = 0; i < n; ++i) owned[static_cast<std::size_t>(i)].reset(got[i]);
  std::size_t added = 0;
  for (ssize_t i = 0; i < n; ++i) {
    kafka::Message& m = owned[static_cast<std::size_t>(i)];
    if (accept(m)) {
      out.push_back(std::move(m));
      ++added;
    }
  }
  return added;
}

}  // namespace sfcrime

namespace sfcrime {

void TopicSource::mark_processed(std::int32_t partition, std::int64_t next_offset) {
  next_offset_[partition] = next_offset;
}

bool TopicSource::caught_up(std::int32_t partition) const {
  // With exit_at_end a partition read up to the high watermark it had when assigned has nothing
  // more to give this run, whether or not its EOF event was polled yet.
  return at_eof_.count(partition) > 0 || (options_.exit_at_end && assigned_ && !pending_.count(partition));
}

std::int64_t TopicSource::cached_high(std::int32_t partition) {
  std::int64_t low = -1, high = -1;
  if (rd_kafka_get_watermark_offsets(handle_.get(), options_.topic.c_str(), partition, &low, &high) !=
      RD_KAFKA_RESP_ERR_NO_ERROR)
    return -1;
  return high;
}

}  // namespace sfcrime
