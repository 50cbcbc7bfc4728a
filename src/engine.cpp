#include "sfcrime/engine.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <utility>

#include "sfcrime/datetime.hpp"
#include "sfcrime/errors.hpp"

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

OutputMode parse_output_mode(const std::string& s) {
  if (s == "append") return OutputMode::append;
  if (s == "update") return OutputMode::update;
  if (s == "complete") return OutputMode::complete;
  throw UsageError("invalid --output-mode '" + s + "' (expected append, update or complete)");
}

const char* to_string(OutputMode m) noexcept {
  switch (m) {
    case OutputMode::update: return "update";
    case OutputMode::complete: return "complete";
    default: return "append";
  }
}

std::vector<std::string> parse_field_list(const std::string& text, const char* what) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (;;) {
    const std::size_t comma = text.find(',', from);
    std::string part = text.substr(from, comma == std::string::npos ? std::string::npos : comma - from);
    if (part.empty())
      throw UsageError(std::string("invalid ") + what + " '" + text + "' (expected FIELD[,FIELD...] with no empty field)");
    out.push_back(std::move(part));
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  return out;
}

Filter parse_filter(const std::string& text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw UsageError("invalid --filter '" + text + "' (expected FIELD=VALUE[,VALUE...], e.g. "
                     "original_crime_type_name=Assault,Burglary)");
  Filter f;
  f.field = text.substr(0, eq);
  // Values may be empty strings ("disposition=" keeps records whose disposition is ""), so split
  // without parse_field_list's check.
  const std::string values = text.substr(eq + 1);
  std::size_t from = 0;
  for (;;) {
    const std::size_t comma = values.find(',', from);
    f.values.push_back(values.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
    if (comma == std::string::npos) break;
    from = comma + 1;
  }
  return f;
}

namespace group_key {

void append_null(std::string& key) { key.push_back('\x01'); }

void append_string(std::string& key, std::string_view value) {
  key.push_back('\x02');
  for (const char c : value) {
    key.push_back(c);
    if (c == '\0') key.push_back('\xff');
  }
  key.push_back('\0');
}

std::vector<std::optional<std::string_view>> decode(std::string_view key, std::vector<std::string>& scratch) {
  std::vector<std::optional<std::string_view>> parts;
  scratch.clear();
  scratch.reserve(key.size());  // views into scratch must not move
  std::size_t i = 0;
  while (i < key.size()) {
    if (key[i] == '\x01') {
      parts.emplace_back(std::nullopt);
      ++i;
      continue;
    }
    ++i;  // 0x02
    const std::size_t from = i;
    bool escaped = false;
    while (i < key.size() && !(key[i] == '\0' && (i + 1 >= key.size() || key[i + 1] != '\xff'))) {
      if (key[i] == '\0') {
        escaped = true;
        ++i;  // skip the 0xFF
      }
      ++i;
    }
    std::string_view raw = key.substr(from, i - from);
    ++i;  // the terminating 0x00
    if (!escaped) {
      parts.emplace_back(raw);
      continue;
    }
    std::string& s = scratch.emplace_back();
    for (std::size_t k = 0; k < raw.size(); ++k) {
      s.push_back(raw[k]);
      if (raw[k] == '\0') ++k;
    }
    parts.emplace_back(std::string_view(s));
  }
  return parts;
}

}  // namespace group_key

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

void group_key::append_json(std::string_view key, boost::json::array& out, std::vector<std::string>& scratch) {
  for (const auto& part : decode(key, scratch)) {
    if (part)
      out.emplace_back(*part);
    else
      out.emplace_back(nullptr);
  }
}

std::string group_key::from_json(const boost::json::array& parts) {
  std::string key;
  for (const boost::json::value& part : parts) {
    if (part.is_null())
      append_null(key);
    else
      append_string(key, std::string_view(part.as_string()));
  }
  return key;
}

boost::json::object group_stats_json(std::string_view key, const GroupStats& stats, std::vector<std::string>& scratch) {
  boost::json::array parts;
  group_key::append_json(key, parts, scratch);
  boost::json::array dispositions;
  for (const auto& [code, n] : stats.dispositions) dispositions.push_back(boost::json::array{code, n});
  return {{"key", std::move(parts)}, {"count", stats.count}, {"dispositions", std::move(dispositions)}};
}

std::pair<std::string, GroupStats> parse_group_stats(const boost::json::object& o) {
  GroupStats stats;
  stats.count = o.at("count").to_number<std::uint64_t>();
  for (const boost::json::value& dv : o.at("dispositions").as_array()) {
    const boost::json::array& d = dv.as_array();
    stats.dispositions.emplace_back(std::string(d.at(0).as_string()), d.at(1).to_number<std::uint64_t>());
  }
  return {group_key::from_json(o.at("key").as_array()), std::move(stats)};
}

std::vector<std::pair<std::string, std::string>> late_headers(std::int64_t event_ms, std::int64_t watermark) {
  const std::string wm = format_watermark(watermark);
  return {{"sfcrime.late.reason", "event time " + format_naive_datetime(event_ms) +
                                      ": every window of the record ended at or before the watermark " + wm},
          {"sfcrime.late.watermark", wm}};
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
