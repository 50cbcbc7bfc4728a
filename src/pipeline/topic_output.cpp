#include "sfcrime/pipeline/topic_output.hpp"

#include <boost/json.hpp>

#include "sfcrime/base/datetime.hpp"
#include "sfcrime/base/errors.hpp"
#include "sfcrime/stream/engine.hpp"
#include "sfcrime/stream/group_key.hpp"

namespace sfcrime {
namespace {

class TopicSink final : public Sink {
 public:
  TopicSink(kafka::Producer& producer, std::string topic, RowLabels labels, std::size_t index)
      : producer_(producer), topic_(std::move(topic)), labels_(std::move(labels)), index_(index), writer_(labels_) {}

  void window(std::int64_t start, std::int64_t end, const WindowAgg& w, const std::vector<WindowRow>& rows,
              bool final) override {
    const std::string s = format_naive_datetime(start), e = format_naive_datetime(end);
    for (const WindowRow& r : rows) {
      boost::json::array key;
      key.emplace_back(s);
      group_key::append_json(r.group, key, scratch_);
      const std::string k = boost::json::serialize(key);
      v_.clear();
      writer_.append(v_, s, e, w, r, final, batch_.batch_id);
      const std::string& v = v_;
      if (!producer_.send({.topic = index_, .key = k, .value = v}, ++sent_)) throw InterruptedError("interrupted while sending answers to '" + topic_ + "'");
    }
  }

  void end_batch() override { producer_.deliver_all("answer rows"); }  // before the input offsets are committed
  std::string description() const override { return "topic " + topic_; }

 private:
  kafka::Producer& producer_;
  std::string topic_;
  RowLabels labels_;
  std::size_t index_;
  std::vector<std::string> scratch_;
  std::uint64_t sent_ = 0;
  JsonRowWriter writer_;  // refers to labels_
  std::string v_;
};

}  // namespace

std::unique_ptr<Sink> make_topic_sink(kafka::Producer& producer, std::string topic, RowLabels labels,
                                      std::size_t topic_index) {
  return std::make_unique<TopicSink>(producer, std::move(topic), std::move(labels), topic_index);
}

std::vector<kafka::Header> late_headers(std::int64_t event_ms, std::int64_t watermark) {
  const std::string wm = format_watermark(watermark);
  return {{"sfcrime.late.reason", "event time " + format_naive_datetime(event_ms) +
                                      ": every window of the record ended at or before the watermark " + wm},
          {"sfcrime.late.watermark", wm}};
}

}  // namespace sfcrime
