#include "sfcrime/stream/sinks.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

#include "sfcrime/base/datetime.hpp"
#include "sfcrime/base/errors.hpp"
#include "sfcrime/stream/engine.hpp"

namespace sfcrime {
namespace {

[[noreturn]] void write_failed() {
  if (errno == EPIPE) throw OutputClosed();
  if (errno == EINTR && interrupted()) throw InterruptedError("interrupted while writing the output");
  throw IoError(std::string("cannot write the output: ") + std::strerror(errno));
}

void write_all(std::FILE* out, const std::string& s) {
  if (std::fwrite(s.data(), 1, s.size(), out) != s.size()) write_failed();
}

void flush_all(std::FILE* out) {
  if (std::fflush(out) != 0) write_failed();
}

/// The JSON row of docs/streaming.md ("Rows"), keys in their documented order.
boost::json::object json_row(const RowLabels& labels, std::vector<std::string>& scratch, const std::string& start,
                             const std::string& end, const WindowAgg& w, const WindowRow& r, bool final,
                             std::int64_t batch_id) {
  const std::string_view usual = r.stats->usual();
  boost::json::object o;
  o["window_start"] = start;
  o["window_end"] = end;
  const auto parts = group_key::decode(r.group, scratch);
  for (std::size_t i = 0; i < labels.by.size() && i < parts.size(); ++i) {
    if (parts[i])
      o[labels.by[i]] = *parts[i];
    else
      o[labels.by[i]] = nullptr;
  }
  o["count"] = r.stats->count;
  o["usual_disposition"] = usual;
  const std::string* d = labels.codes ? labels.codes->describe(usual) : nullptr;
  if (d)
    o["usual_disposition_description"] = *d;
  else
    o["usual_disposition_description"] = nullptr;
  o["window_total"] = w.total;
  o["window_distinct"] = w.groups.size();
  o["final"] = final;
  o["batch_id"] = batch_id;
  return o;
}

class JsonSink final : public Sink {
 public:
  JsonSink(std::FILE* out, RowLabels labels) : out_(out), labels_(std::move(labels)), writer_(labels_) {}

  void window(std::int64_t start, std::int64_t end, const WindowAgg& w, const std::vector<WindowRow>& rows,
              bool final) override {
    const std::string s = format_naive_datetime(start), e = format_naive_datetime(end);
    text_.clear();
    for (const WindowRow& r : rows) {
      writer_.append(text_, s, e, w, r, final, batch_.batch_id);
      text_ += '\n';
    }
    write_all(out_, text_);
  }
  void end_batch() override { flush_all(out_); }
  std::string description() const override { return "json"; }

 private:
  std::FILE* out_;
  RowLabels labels_;
  JsonRowWriter writer_;  // refers to labels_
  std::string text_;
};

/// RFC 4180: a field holding a comma, quote, CR or LF is quoted, quotes doubled.
void csv_field(std::string& line, std::string_view v) {
  // An empty string is "" (an empty field is null: sinks.hpp).
  if (!v.empty() && v.find_first_of(",\"\r\n") == std::string_view::npos) {
    line += v;
    return;
  }
  line += '"';
  for (const char c : v) {
    if (c == '"') line += '"';
    line += c;
  }
  line += '"';
}

class CsvSink final : public Sink {
 public:
  CsvSink(std::FILE* out, RowLabels labels) : out_(out), labels_(std::move(labels)) {}

  void window(std::int64_t start, std::int64_t end, const WindowAgg& w, const std::vector<WindowRow>& rows,
              bool final) override {
    std::string text = header();
    const std::string s = format_naive_datetime(start), e = format_naive_datetime(end);
    for (const WindowRow& r : rows) {
      text += s + ',' + e;
      for (const auto& part : group_key::decode(r.group, scratch_)) {
        text += ',';
        if (!part) continue;  // null: an empty field
        if (part->empty())
          text += "\"\"";  // an empty string, told apart from null
        else
          csv_field(text, *part);
      }
      const std::string_view usual = r.stats->usual();
      text += ',' + std::to_string(r.stats->count) + ',';
      csv_field(text, usual);
      text += ',';
      if (const std::string* d = labels_.codes ? labels_.codes->describe(usual) : nullptr) csv_field(text, *d);
      text += ',' + std::to_string(w.total) + ',' + std::to_string(w.groups.size()) + ',' + (final ? "true" : "false") +
              ',' + std::to_string(batch_.batch_id) + "\r\n";
    }
    write_all(out_, text);
  }
  void end_batch() override {
    write_all(out_, header());  // a header even when nothing was emitted
    flush_all(out_);
  }
  std::string description() const override { return "csv"; }

 private:
  // The header line the first time, then "".
  std::string header() {
    std::string text;
    if (header_done_) return text;
    header_done_ = true;
    std::vector<std::string> cols = {"window_start", "window_end"};
    cols.insert(cols.end(), labels_.by.begin(), labels_.by.end());
    for (const char* c : {"count", "usual_disposition", "usual_disposition_description", "window_total",
                          "window_distinct", "final", "batch_id"})
      cols.emplace_back(c);
    for (std::size_t i = 0; i < cols.size(); ++i) {
      if (i) text += ',';
      csv_field(text, cols[i]);
    }
    return text + "\r\n";
  }

  std::FILE* out_;
  RowLabels labels_;
  std::vector<std::string> scratch_;
  bool header_done_ = false;
};

class TableSink final : public Sink {
 public:
  TableSink(std::FILE* out, RowLabels labels) : out_(out), labels_(std::move(labels)) {}

  void begin_batch(const BatchInfo& b) override {
    Sink::begin_batch(b);
    header_done_ = false;
  }

  void window(std::int64_t start, std::int64_t end, const WindowAgg& w, const std::vector<WindowRow>& rows,
              bool final) override {
    std::string s;
    if (!header_done_) {
      // As Spark's console sink does, one header per micro-batch that has rows.
      header_done_ = true;
      s += "-------------------------------------------\n";
      s += "Batch: " + std::to_string(batch_.batch_id) + "   (" + batch_.mode + " mode)\n";
      s += "-------------------------------------------\n";
    }
    // Columns: one per grouping field, each as wide as its longest value or heading.
    std::vector<std::vector<std::string>> cells;
    std::vector<std::size_t> width;
    for (const std::string& f : labels_.by) width.push_back(f.size());
    for (const WindowRow& r : rows) {
      auto& row = cells.emplace_back();
      const auto parts = group_key::decode(r.group, scratch_);
      for (std::size_t i = 0; i < parts.size() && i < width.size(); ++i) {
        row.emplace_back(parts[i] ? std::string(*parts[i]) : std::string("(null)"));
        width[i] = std::max(width[i], row.back().size());
      }
    }
    const bool crime = labels_.by.size() == 1 && labels_.by[0] == "original_crime_type_name";
    std::string noun = crime ? "crime types" : "distinct keys";
    s += "\n" + format_naive_datetime(start) + " .. " + format_naive_datetime(end) + "   " + std::to_string(w.total) +
         (w.total == 1 ? " record, " : " records, ") + std::to_string(w.groups.size()) + " " + noun +
         (final ? "" : "  (not final)") + "\n";
    s += "    count";
    for (std::size_t i = 0; i < width.size(); ++i) s += "  " + pad(labels_.by[i], width[i]);
    s += "  usual disposition\n";
    for (std::size_t k = 0; k < rows.size(); ++k) {
      const WindowRow& r = rows[k];
      const std::string_view usual = r.stats->usual();
      const std::string* d = labels_.codes ? labels_.codes->describe(usual) : nullptr;
      const std::string count = std::to_string(r.stats->count);
      s += std::string(9 - std::min<std::size_t>(9, count.size()), ' ') + count;
      for (std::size_t i = 0; i < cells[k].size(); ++i) s += "  " + pad(cells[k][i], width[i]);
      s += "  " + pad(usual.empty() ? std::string("(none)") : std::string(usual), 12);
      if (labels_.codes) s += "  " + (d ? *d : std::string("(not in radio codes)"));
      while (s.back() == ' ') s.pop_back();
      s += "\n";
    }
    if (rows.size() < w.groups.size() && batch_.mode != std::string_view("update"))
      s += "    ... " + std::to_string(w.groups.size() - rows.size()) + " more (--top)\n";
    write_all(out_, s);
  }
  void end_batch() override { flush_all(out_); }
  std::string description() const override { return "table"; }

 private:
  static std::string pad(std::string s, std::size_t n) {
    if (s.size() < n) s.append(n - s.size(), ' ');
    return s;
  }
  std::FILE* out_;
  RowLabels labels_;
  std::vector<std::string> scratch_;
  bool header_done_ = false;
};

}  // namespace

// Writes the text of json_row()'s object (what boost::json::serialize makes of it) straight into
// a string, without building the object: a real-data run emits 100,000 rows and more, and the
// object (a hash table of 11 keys, each value a heap string) cost more than the whole
// aggregation. When a --by field is named like one of the row's own keys (or twice), the object
// is built instead: its assignment order decides which value is kept where.
JsonRowWriter::JsonRowWriter(const RowLabels& labels) : labels_(labels) {
  static constexpr const char* kOwn[] = {"window_start",   "window_end", "count",
                                         "usual_disposition", "usual_disposition_description",
                                         "window_total",   "window_distinct", "final", "batch_id"};
  for (const std::string& b : labels_.by) {
    if (std::find(std::begin(kOwn), std::end(kOwn), b) != std::end(kOwn) ||
        std::count(labels_.by.begin(), labels_.by.end(), b) > 1)
      direct_ = false;
    quoted_by_.push_back(boost::json::serialize(boost::json::string_view(b)));
  }
}

void JsonRowWriter::append(std::string& text, const std::string& start, const std::string& end, const WindowAgg& w,
              const WindowRow& r, bool final, std::int64_t batch_id) {
  if (!direct_) {
    text += boost::json::serialize(json_row(labels_, scratch_, start, end, w, r, final, batch_id));
    return;
  }
  // A JSON string as Boost.JSON writes it, through a reused serializer (no allocation).
  auto str = [&](std::string_view v) {
    serializer_.reset(boost::json::string_view(v));
    char buf[256];
    while (!serializer_.done()) {
      const boost::json::string_view got = serializer_.read(buf, sizeof buf);
      text.append(got.data(), got.size());
    }
  };
  text += "{\"window_start\":";
  str(start);
  text += ",\"window_end\":";
  str(end);
  const auto parts = group_key::decode(r.group, scratch_);
  for (std::size_t i = 0; i < quoted_by_.size() && i < parts.size(); ++i) {
    text += ',';
    text += quoted_by_[i];
    text += ':';
    if (parts[i])
      str(*parts[i]);
    else
      text += "null";
  }
  const std::string_view usual = r.stats->usual();
  text += ",\"count\":";
  text += std::to_string(r.stats->count);
  text += ",\"usual_disposition\":";
  str(usual);
  text += ",\"usual_disposition_description\":";
  if (const std::string* d = labels_.codes ? labels_.codes->describe(usual) : nullptr)
    str(*d);
  else
    text += "null";
  text += ",\"window_total\":";
  text += std::to_string(w.total);
  text += ",\"window_distinct\":";
  text += std::to_string(w.groups.size());
  text += final ? ",\"final\":true" : ",\"final\":false";
  text += ",\"batch_id\":";
  text += std::to_string(batch_id);
  text += '}';
}

std::unique_ptr<Sink> make_sink(OutputFormat format, std::FILE* out, RowLabels labels) {
  if (format == OutputFormat::json) return std::make_unique<JsonSink>(out, std::move(labels));
  if (format == OutputFormat::csv) return std::make_unique<CsvSink>(out, std::move(labels));
  return std::make_unique<TableSink>(out, std::move(labels));
}

DeferredOutput::DeferredOutput(std::FILE* out) : out_(out) {
  // A temporary file, not memory: a batch's rows may be many (the real data's whole answer in one
  // batch), and what is held must not grow the process with the batch.
  file_ = std::tmpfile();
  if (!file_) throw IoError(std::string("cannot open a temporary file for the batch's rows: ") + std::strerror(errno));
}

DeferredOutput::~DeferredOutput() {
  if (file_) std::fclose(file_);
}

void DeferredOutput::release() {
  flush_all(file_);
  std::rewind(file_);
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0)
    if (std::fwrite(buf, 1, n, out_) != n) write_failed();
  if (std::ferror(file_)) throw IoError(std::string("cannot read back the batch's rows: ") + std::strerror(errno));
  flush_all(out_);
  discard();
}

void DeferredOutput::discard() {
  std::fflush(file_);
  std::rewind(file_);
  if (::ftruncate(::fileno(file_), 0) != 0)
    throw IoError(std::string("cannot empty the temporary file of the batch's rows: ") + std::strerror(errno));
}

void TeeSink::begin_batch(const BatchInfo& b) {
  Sink::begin_batch(b);
  for (auto& s : sinks_) s->begin_batch(b);
}

void TeeSink::window(std::int64_t start, std::int64_t end, const WindowAgg& w, const std::vector<WindowRow>& rows,
                     bool final) {
  for (auto& s : sinks_) s->window(start, end, w, rows, final);
}

void TeeSink::end_batch() {
  for (auto& s : sinks_) s->end_batch();
}

std::string TeeSink::description() const {
  std::string d;
  for (const auto& s : sinks_) d += (d.empty() ? "" : " + ") + s->description();
  return d;
}

}  // namespace sfcrime
