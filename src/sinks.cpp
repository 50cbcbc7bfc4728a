#include "sfcrime/sinks.hpp"

#include <boost/json.hpp>

#include <cerrno>
#include <cstring>

#include "sfcrime/datetime.hpp"
#include "sfcrime/errors.hpp"

namespace sfcrime {
namespace {

void write_all(std::FILE* out, const std::string& s) {
  if (std::fwrite(s.data(), 1, s.size(), out) != s.size())
    throw IoError(std::string("cannot write the output: ") + std::strerror(errno));
}

void flush_all(std::FILE* out) {
  if (std::fflush(out) != 0) throw IoError(std::string("cannot write the output: ") + std::strerror(errno));
}

class JsonSink final : public Sink {
 public:
  JsonSink(std::FILE* out, std::string field, const RadioCodes& codes)
      : out_(out), field_(std::move(field)), codes_(codes) {}

  void window(std::int64_t start, std::int64_t end, const WindowAgg& w, bool final) override {
    const std::string s = format_naive_datetime(start), e = format_naive_datetime(end);
    std::string line;
    for (const WindowRow& r : WindowTable::sorted_rows(w)) {
      const std::string_view usual = r.stats->usual();
      boost::json::object o;
      o["window_start"] = s;
      o["window_end"] = e;
      o[field_] = r.group;
      o["count"] = r.stats->count;
      o["usual_disposition"] = usual;
      if (const std::string* d = codes_.describe(usual))
        o["usual_disposition_description"] = *d;
      else
        o["usual_disposition_description"] = nullptr;
      o["window_total"] = w.total;
      o["window_distinct"] = w.groups.size();
      o["final"] = final;
      line = boost::json::serialize(o);
      line += '\n';
      write_all(out_, line);
    }
  }
  void flush() override { flush_all(out_); }

 private:
  std::FILE* out_;
  std::string field_;
  const RadioCodes& codes_;
};

class TableSink final : public Sink {
 public:
  TableSink(std::FILE* out, std::string field, const RadioCodes& codes)
      : out_(out), field_(std::move(field)), codes_(codes) {}

  void window(std::int64_t start, std::int64_t end, const WindowAgg& w, bool final) override {
    const auto rows = WindowTable::sorted_rows(w);
    std::size_t width = field_.size();
    for (const WindowRow& r : rows) width = std::max(width, r.group.size());
    const std::string noun = field_ == "original_crime_type_name" ? "crime types" : "distinct " + field_;
    std::string s = "\n" + format_naive_datetime(start) + " .. " + format_naive_datetime(end) + "   " +
                    std::to_string(w.total) + (w.total == 1 ? " record, " : " records, ") +
                    std::to_string(w.groups.size()) + " " + noun + (final ? "" : "  (not final)") + "\n";
    s += "    count  " + pad(field_, width) + "  usual disposition\n";
    for (const WindowRow& r : rows) {
      const std::string_view usual = r.stats->usual();
      const std::string* d = codes_.describe(usual);
      std::string count = std::to_string(r.stats->count);
      s += std::string(9 - std::min<std::size_t>(9, count.size()), ' ') + count + "  " + pad(std::string(r.group), width) +
           "  " + pad(usual.empty() ? std::string("(none)") : std::string(usual), 12) + "  " +
           (d ? *d : std::string("(not in radio codes)")) + "\n";
    }
    write_all(out_, s);
  }
  void flush() override { flush_all(out_); }

 private:
  static std::string pad(std::string s, std::size_t n) {
    if (s.size() < n) s.append(n - s.size(), ' ');
    return s;
  }
  std::FILE* out_;
  std::string field_;
  const RadioCodes& codes_;
};

}  // namespace

OutputFormat parse_output_format(const std::string& s) {
  if (s == "table") return OutputFormat::table;
  if (s == "json") return OutputFormat::json;
  throw UsageError("invalid --output '" + s + "' (expected table or json)");
}

std::unique_ptr<Sink> make_sink(OutputFormat format, std::FILE* out, std::string group_field, const RadioCodes& codes) {
  if (format == OutputFormat::json) return std::make_unique<JsonSink>(out, std::move(group_field), codes);
  return std::make_unique<TableSink>(out, std::move(group_field), codes);
}

}  // namespace sfcrime
