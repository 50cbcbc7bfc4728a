#include "sfcrime/stream/engine.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <utility>

#include "sfcrime/base/datetime.hpp"
#include "sfcrime/base/errors.hpp"

namespace sfcrime {

std::int64_t saturating_add(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? StreamEngine::kMaxTime : StreamEngine::kMinTime;
  return r;
}

std::int64_t saturating_sub(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b > 0 ? StreamEngine::kMinTime : StreamEngine::kMaxTime;
  return r;
}

std::string format_watermark(std::int64_t w) {
  if (w == StreamEngine::kMinTime) return "-infinity";
  if (w == StreamEngine::kMaxTime) return "+infinity";
  return format_naive_datetime(w);
}

const char* to_string(OutputMode m) noexcept {
  switch (m) {
    case OutputMode::update: return "update";
    case OutputMode::complete: return "complete";
    default: return "append";
  }
}

Extractor::Extractor(const StreamSpec& spec) : spec_(spec) {
  rules_.time_field = spec.time_field;
  rules_.key_field.clear();  // the message key is not needed to aggregate
}

void Extractor::extract(std::string_view text, Extracted& out) {
  out.kind = Extracted::Kind::invalid;
  out.reason.clear();
  out.group.clear();
  out.disposition.clear();
  const simdjson::dom::element* v = parser_.parse(text, &out.reason);
  if (!v) return;
  Validated ok = validate_record(*v, rules_);
  if (!ok.ok()) {
    out.reason = std::move(ok.reason);
    return;
  }
  out.event_ms = ok.event_ms;
  const simdjson::dom::object o = v->get_object().value_unsafe();
  for (const Filter& f : spec_.filters) {
    const auto s = string_field(o, f.field);
    if (!s || std::find(f.values.begin(), f.values.end(), *s) == f.values.end()) {
      out.kind = Extracted::Kind::filtered;
      return;
    }
  }
  out.by_present = 0;
  for (std::size_t i = 0; i < spec_.by.size(); ++i) {
    const auto f = find_field(o, spec_.by[i]);
    if (!f || f->is_null()) {
      group_key::append_null(out.group);
      continue;
    }
    if (i < 64) out.by_present |= std::uint64_t{1} << i;
    if (f->is_string())
      group_key::append_string(out.group, f->get_string().value_unsafe());
    else
      group_key::append_string(out.group, json_text(*f));
  }
  if (const auto d = string_field(o, spec_.disposition_field)) out.disposition.assign(d->data(), d->size());
  out.kind = Extracted::Kind::valid;
}

StreamEngine::StreamEngine(StreamSpec spec) : spec_(std::move(spec)) {}

bool StreamEngine::add(const Extracted& x) {
  ++batch_.input;
  if (x.kind == Extracted::Kind::invalid) {
    ++batch_.invalid;
    return true;
  }
  if (x.kind == Extracted::Kind::filtered) {
    ++batch_.filtered;
    return true;
  }
  const std::int64_t t = x.event_ms;
  batch_.min_event = std::min(batch_.min_event, t);
  batch_.max_event = std::max(batch_.max_event, t);
  if (first_event_ == kMinTime) first_event_ = t;
  // The watermark moves per record, this record included (docs/streaming.md, step 3); a record
  // can never be late by its own time since each of its windows ends after it.
  if (t > max_event_) {
    max_event_ = t;
    if (!external_watermark_)
      advance_watermark(saturating_sub(t, spec_.watermark_delay_ms));  // never back (a restored +infinity)
  } else if (max_event_ != kMinTime) {
    max_disorder_ = std::max(max_disorder_, saturating_sub(max_event_, t));
  }
  bool added = false;
  spec_.windows.for_each_window(t, [&](std::int64_t start) {
    if (saturating_add(start, spec_.windows.size_ms) <= watermark_) {  // Spark: window.end <= watermark
      ++batch_.dropped_pairs;
      return;
    }
    added = true;
    WindowAgg& w = windows_[start];
    ++w.total;
    w.changed_in = batch_id_;
    auto it = w.groups.find(std::string_view(x.group));
    if (it == w.groups.end()) {
      it = w.groups.emplace(x.group, GroupStats{}).first;
      ++rows_;
    }
    GroupStats& g = it->second;
    g.add(x.disposition);
    if (g.changed_in != batch_id_) {
      g.changed_in = batch_id_;
      ++batch_.rows_updated;
    }
  });
  if (!added) ++batch_.late;
  return added;
}

void StreamEngine::emit_window(std::int64_t start, const WindowAgg& w, bool closed, Sink& sink) {
  std::vector<WindowRow> rows = sorted_rows(w);
  if (spec_.top > 0 && rows.size() > spec_.top) rows.resize(spec_.top);
  if (spec_.mode == OutputMode::update)
    std::erase_if(rows, [&](const WindowRow& r) { return r.stats->changed_in != batch_id_; });
  if (rows.empty()) return;
  begin_output(sink);
  batch_.rows_out += rows.size();
  sink.window(start, saturating_add(start, spec_.windows.size_ms), w, rows, closed);
}

void StreamEngine::begin_output(Sink& sink) {
  if (std::exchange(output_begun_, true)) return;
  BatchInfo info;
  info.batch_id = batch_id_;
  info.mode = to_string(spec_.mode);
  sink.begin_batch(info);
}

void StreamEngine::close_windows(Sink& sink, StateObserver* state) {
  for (auto it = windows_.begin(); it != windows_.end();) {
    if (saturating_add(it->first, spec_.windows.size_ms) > watermark_) break;  // windows are ordered: the rest are open
    emit_window(it->first, it->second, true, sink);
    rows_ -= it->second.groups.size();
    if (state) state->window_freed(it->first);
    it = windows_.erase(it);
  }
}

std::uint64_t StreamEngine::end_batch(bool final_batch, Sink& sink) { return end_batch(final_batch, sink, nullptr); }

bool StreamEngine::upsert_row(std::int64_t start, std::string_view group, const GroupStats& stats) {
  if (saturating_add(start, spec_.windows.size_ms) <= watermark_) return false;
  WindowAgg& w = windows_[start];
  w.changed_in = batch_id_;
  auto it = w.groups.find(group);
  if (it == w.groups.end()) {
    it = w.groups.emplace(std::string(group), GroupStats{}).first;
    ++rows_;
  }
  GroupStats& g = it->second;
  w.total = w.total - g.count + stats.count;
  g.count = stats.count;
  g.dispositions = stats.dispositions;
  if (g.changed_in != batch_id_) {
    g.changed_in = batch_id_;
    ++batch_.rows_updated;
  }
  return true;
}

void StreamEngine::advance_watermark(std::int64_t watermark) {
  if (watermark <= watermark_) return;
  watermark_ = watermark;
  if (live_sink_ && spec_.mode != OutputMode::complete && !windows_.empty() &&
      saturating_add(windows_.begin()->first, spec_.windows.size_ms) <= watermark_)
    close_windows(*live_sink_, live_state_);
}

void StreamEngine::restore_window(std::int64_t start, WindowAgg w) {
  w.changed_in = -1;
  for (auto& [key, g] : w.groups) g.changed_in = -1;
  auto [it, inserted] = windows_.try_emplace(start);
  if (!inserted) rows_ -= it->second.groups.size();
  rows_ += w.groups.size();
  it->second = std::move(w);
}

void StreamEngine::restore_clock(std::int64_t max_event, std::int64_t watermark, std::int64_t next_batch_id) {
  max_event_ = max_event;
  watermark_ = watermark;
  batch_id_ = next_batch_id;
}

std::uint64_t StreamEngine::end_batch(bool final_batch, Sink& sink, StateObserver* state) {
  if (final_batch) watermark_ = kMaxTime;
  if (spec_.mode == OutputMode::complete) {
    for (const auto& [start, w] : windows_)
      emit_window(start, w, saturating_add(start, spec_.windows.size_ms) <= watermark_, sink);
  } else {
    close_windows(sink, state);
    for (const auto& [start, w] : windows_)  // open: update mode emits their changed rows
      if (spec_.mode == OutputMode::update) emit_window(start, w, false, sink);
  }
  begin_output(sink);  // a batch with nothing to emit still begins and ends its output
  sink.end_batch();
  output_begun_ = false;
  if (state) {
    // The windows still held that this batch added to (the freed ones were told as they closed).
    for (const auto& [start, w] : windows_)
      if (w.changed_in == batch_id_) state->window_changed(start, w);
    state->clock(max_event_, watermark_, batch_id_ + 1);
  }
  const std::uint64_t emitted = batch_.rows_out;
  totals_.input += batch_.input;
  totals_.invalid += batch_.invalid;
  totals_.filtered += batch_.filtered;
  totals_.late += batch_.late;
  totals_.dropped_pairs += batch_.dropped_pairs;
  totals_.rows_updated += batch_.rows_updated;
  totals_.rows_out += batch_.rows_out;
  totals_.min_event = std::min(totals_.min_event, batch_.min_event);
  totals_.max_event = std::max(totals_.max_event, batch_.max_event);
  batch_ = BatchCounters{};
  ++batch_id_;
  return emitted;
}

}  // namespace sfcrime
