// sfcrime aggregate: how many calls of each crime type in each event-time window, and the usual
// disposition of each.
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>

#include "sfcrime/cli.hpp"
#include "sfcrime/commands.hpp"
#include "sfcrime/duration.hpp"
#include "sfcrime/errors.hpp"
#include "sfcrime/progress.hpp"
#include "sfcrime/radio_codes.hpp"
#include "sfcrime/record.hpp"
#include "sfcrime/sinks.hpp"
#include "sfcrime/source.hpp"
#include "sfcrime/window.hpp"

namespace sfcrime::commands {

namespace {
constexpr std::uint64_t kShownRejects = 100;
const char* const kGroupField = "original_crime_type_name";
const char* const kDispositionField = "disposition";
}  // namespace

int aggregate(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "aggregate";
  spec.synopsis =
      "sfcrime aggregate --topic TOPIC [--window DURATION] [--from-beginning] [--exit-at-end] [--group GROUP]\n"
      "                         [--output table|json] [--radio-codes FILE] [options]";
  spec.summary =
      "Counts the records of TOPIC in event-time tumbling windows over call_date_time (naive\n"
      "wall-clock time; windows [start, end) aligned to the epoch) and, per window and\n"
      "original_crime_type_name, gives the count and the usual disposition: the most frequent\n"
      "code, a tie going to the lexically smallest code, with its description from radio_code.json\n"
      "(codes absent from it are shown as such). Per window: the total and the number of distinct\n"
      "crime types. The answer is printed when the input ends (--exit-at-end) or on Ctrl-C.\n"
      "Messages that are not valid records are counted, reported on stderr and skipped; the exit\n"
      "status is then 65 after the answer for the valid ones is printed.";
  spec.options.add_options()
      ("topic,t", cli::po::value<std::string>()->required()->value_name("TOPIC"), "topic to read")
      ("window,w", cli::po::value<std::string>()->default_value("30m")->value_name("DURATION"),
       "window length: a whole number and s, m, h or d")
      ("from-beginning", "start at the earliest offset (with --group: when the group has no committed offset)")
      ("exit-at-end,e", "print the answer and exit once every partition was read to its end")
      ("group,g", cli::po::value<std::string>()->value_name("GROUP"), "consumer group id (share partitions)")
      ("output,o", cli::po::value<std::string>()->default_value("table")->value_name("FORMAT"),
       "table (for people) or json (one object per window and crime type)")
      ("radio-codes", cli::po::value<std::string>()->value_name("FILE"),
       "radio_code.json with disposition descriptions (env SFCRIME_RADIO_CODES)");
  spec.examples =
      "  sfcrime aggregate --topic police-calls --window 30m --from-beginning --exit-at-end\n"
      "  sfcrime aggregate --topic police-calls --from-beginning -e --output json --radio-codes radio_code.json\n";
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const Config& config = parsed->config;

  WindowSpec windows;
  windows.size_ms = windows.slide_ms = parse_duration(vm["window"].as<std::string>(), "--window").count();
  const OutputFormat format = parse_output_format(vm["output"].as<std::string>());
  const RadioCodes codes = config.radio_codes.empty() ? RadioCodes{} : RadioCodes::load(config.radio_codes);
  SourceOptions o;
  o.topic = vm["topic"].as<std::string>();
  if (vm.count("group")) o.group = vm["group"].as<std::string>();
  o.from_beginning = vm.count("from-beginning") > 0;
  o.exit_at_end = vm.count("exit-at-end") > 0;
  o.manual_commit = true;  // a group's offsets move only once the answer is written
  RecordRules rules;
  rules.key_field.clear();  // the message key is not needed to aggregate

  TopicSource source(config, o);
  WindowTable table(windows);
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t records = 0, rejected = 0;
  RecordParser parser;
  ProgressLine progress(true);
  while (!interrupted()) {
    kafka::Message m = source.next(std::chrono::milliseconds(200));
    if (!m) {
      if (source.at_end()) break;
      continue;
    }
    std::string reason;
    const boost::json::value* v = parser.parse(std::string_view(static_cast<const char*>(m->payload), m->len), &reason);
    Validated ok;
    if (v) {
      ok = validate_record(*v, rules);
      reason = ok.reason;
    }
    if (!reason.empty()) {
      if (++rejected <= kShownRejects)
        std::fprintf(stderr, "sfcrime: '%s' partition %d offset %lld skipped: %s\n", o.topic.c_str(), m->partition,
                     static_cast<long long>(m->offset), reason.c_str());
      continue;
    }
    ++records;
    if (progress.due())
      progress.show("sfcrime aggregate: " + std::to_string(records) + " records, " +
                    std::to_string(table.windows().size()) + " windows");
    const boost::json::object& obj = v->get_object();
    table.add(ok.event_ms, string_field(obj, kGroupField).value_or(""),
              string_field(obj, kDispositionField).value_or(""));
  }
  progress.clear();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const bool final = source.at_end();
  auto sink = make_sink(format, stdout, kGroupField, codes);
  for (const auto& [start, w] : table.windows()) sink->window(start, start + windows.size_ms, w, final);
  sink->flush();
  source.commit();
  source.close();
  std::fprintf(stderr, "sfcrime aggregate: %llu records, %llu rejected, %zu windows, %llu rows, %.2f s, %.0f records/s\n",
               static_cast<unsigned long long>(records), static_cast<unsigned long long>(rejected),
               table.windows().size(), static_cast<unsigned long long>(table.rows()), secs,
               secs > 0 ? static_cast<double>(records + rejected) / secs : 0.0);
  if (interrupted()) throw InterruptedError("interrupted; the answer above covers the records read so far");
  if (rejected > 0)
    throw DataError(std::to_string(rejected) + " messages of '" + o.topic + "' were not valid records and were skipped");
  return 0;
}

}  // namespace sfcrime::commands
