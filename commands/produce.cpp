// sfcrime produce: read records from a JSON array or NDJSON input and send each to a topic.
#include <boost/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <thread>

#include "sfcrime/cli.hpp"
#include "sfcrime/commands.hpp"
#include "sfcrime/errors.hpp"
#include "sfcrime/event_sort.hpp"
#include "sfcrime/kafka.hpp"
#include "sfcrime/progress.hpp"
#include "sfcrime/reader.hpp"
#include "sfcrime/record.hpp"

namespace sfcrime::commands {

namespace {
constexpr std::uint64_t kShownRejects = 100;  // rejected records printed one by one; the rest are counted
// Longest wait --speedup schedules for one record (about 31 years): keeps the time arithmetic far
// from overflowing steady_clock's nanosecond count whatever the event times and the factor.
constexpr double kMaxReplayWaitSeconds = 1e9;

using Clock = std::chrono::steady_clock;

enum class Order { file, event_time };

Order parse_order(const std::string& s) {
  if (s == "file") return Order::file;
  if (s == "event-time") return Order::event_time;
  const std::string best = cli::suggest(s, {"file", "event-time"});
  throw UsageError("invalid --order '" + s + "' (expected file or event-time" +
                   (best.empty() ? std::string() : "; did you mean '" + best + "'?") + ")");
}

/// --speedup X: a finite number > 0 (fractions allowed).
double parse_speedup(const std::string& s) {
  char* end = nullptr;
  const double x = s.empty() ? NAN : std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(x) || x <= 0)
    throw UsageError("invalid --speedup '" + s +
                     "' (expected a positive number: seconds of event time per second, e.g. 3600 or 0.5)");
  return x;
}

Clock::time_point after(Clock::time_point t0, double seconds) {
  return t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}
}  // namespace

int produce(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "produce";
  spec.synopsis =
      "sfcrime produce --topic TOPIC [--file PATH|-] [--key FIELD] [--limit N] [--rate N]\n"
      "                       [--order file|event-time] [--speedup X] [options]";
  spec.summary =
      "Reads records from a JSON array (pretty-printed or compact) or newline-delimited JSON, as a\n"
      "stream in bounded memory, and sends each as one message (compact JSON value, key = the key\n"
      "field) with an idempotent producer. A record that is not a JSON object, lacks call_date_time\n"
      "or whose call_date_time does not parse (YYYY-MM-DDTHH:MM:SS[.fff], no zone), or that lacks\n"
      "the key field (or holds an object or array there) is rejected with its record number and\n"
      "reason and not sent. Waits for every delivery report, then prints a\n"
      "summary to stderr. Exit 0 when every record was delivered, 65 if any was rejected or the\n"
      "input is malformed, 69 if any was not delivered, 74 if the temporary sort file fails,\n"
      "130 if interrupted.\n"
      "\n"
      "Records go in file order (the real file is newest first) unless --order event-time: then\n"
      "every valid record is read first and sent in ascending call_date_time, records with equal\n"
      "times in file order. Memory stays bounded: runs of 32 MiB of record text are sorted and\n"
      "spilled to a temporary file in $TMPDIR (default /tmp), unlinked at once so nothing is left\n"
      "behind, and merged while sending; an input that fits in one run never touches the disk.\n"
      "--speedup X replays in event time: the first record goes at once, a record E seconds of\n"
      "event time after it no earlier than E / X seconds later; a record already due goes at once,\n"
      "so in file order (newest first) everything after the first goes at once. With --rate, both\n"
      "limits apply.";
  spec.options.add_options()
      ("topic,t", cli::po::value<std::string>()->required()->value_name("TOPIC"), "topic to send to (must exist)")
      ("file,f", cli::po::value<std::string>()->value_name("PATH|-"), "input file, '-' for standard input (default)")
      ("key", cli::po::value<std::string>()->default_value("crime_id")->value_name("FIELD"), "field whose value is the message key")
      ("limit", cli::po::value<long long>()->value_name("N"), "stop after reading N records")
      ("rate", cli::po::value<long long>()->value_name("N"), "send at most N records per second")
      ("order", cli::po::value<std::string>()->default_value("file")->value_name("file|event-time"),
       "send in file order, or sorted by call_date_time ascending (ties in file order; external sort "
       "in runs of 32 MiB of record text, spilled to an unlinked file in $TMPDIR or /tmp)")
      ("speedup", cli::po::value<std::string>()->value_name("X"),
       "replay in event time, X seconds of event time per second (e.g. 3600; fractions allowed); "
       "records already due go at once, so use it with --order event-time");
  spec.examples =
      "  xz -dc police-department-calls-for-service.json.xz | sfcrime produce --topic police-calls\n"
      "  sfcrime produce --topic police-calls --file calls.ndjson --limit 1000 --rate 100\n"
      "  xz -dc police-department-calls-for-service.json.xz |\n"
      "      sfcrime produce --topic police-calls --order event-time --speedup 3600   # an hour a second\n";
  // "--speedup -1": program_options would take "-1" for an option; hand it over as one word so
  // that the value check below names the problem.
  std::vector<std::string> argv = args;
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "--speedup" && argv[i + 1].size() > 1 && argv[i + 1][0] == '-' &&
        (std::isdigit(static_cast<unsigned char>(argv[i + 1][1])) || argv[i + 1][1] == '.')) {
      argv[i] += "=" + argv[i + 1];
      argv.erase(argv.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    }
  auto parsed = cli::parse(spec, argv);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const Config& config = parsed->config;

  const std::string topic = vm["topic"].as<std::string>();
  const std::string file = vm.count("file") ? vm["file"].as<std::string>() : "-";
  const long long limit = vm.count("limit") ? cli::positive(vm, "limit") : 0;
  const long long rate = vm.count("rate") ? cli::positive(vm, "rate") : 0;
  const Order order = parse_order(vm["order"].as<std::string>());
  const double speedup = vm.count("speedup") ? parse_speedup(vm["speedup"].as<std::string>()) : 0;
  if (!vm.count("file") && ::isatty(STDIN_FILENO))
    throw UsageError("no input: give --file PATH, or pipe records into standard input (see 'sfcrime produce --help')");
  RecordRules rules;
  rules.key_field = vm["key"].as<std::string>();

  RecordReader reader(file);  // before connecting: a missing file is reported at once
  std::uint64_t read = 0, rejected = 0;
  auto report = [&](std::uint64_t number, std::uint64_t line, const std::string& reason) {
    ++rejected;
    if (rejected <= kShownRejects)
      std::fprintf(stderr, "sfcrime: record %llu (line %llu) rejected: %s\n", static_cast<unsigned long long>(number),
                   static_cast<unsigned long long>(line), reason.c_str());
    else if (rejected == kShownRejects + 1)
      std::fprintf(stderr, "sfcrime: more records rejected; only the count is reported from now on\n");
  };
  std::uint64_t failures_shown = 0;
  kafka::Producer producer(config, topic, [&](std::uint64_t record, rd_kafka_resp_err_t err) {
    if (++failures_shown <= kShownRejects)
      std::fprintf(stderr, "sfcrime: record %llu not delivered: %s\n", static_cast<unsigned long long>(record),
                   rd_kafka_err2str(err));
  });

  // Waits until `due`, serving delivery reports and waking at least every 50 ms for Ctrl-C.
  // Returns false when interrupted.
  auto wait_until = [&](Clock::time_point due) {
    while (Clock::now() < due) {
      if (interrupted()) return false;
      producer.poll(0);
      std::this_thread::sleep_until(std::min(due, Clock::now() + std::chrono::milliseconds(50)));
    }
    return !interrupted();
  };
  // --speedup: the first record sent fixes (its event time, the wall-clock time); a record with
  // event time e is due (e - e_first) / speedup seconds later, or at once if that is not ahead.
  std::optional<std::int64_t> replay_first;
  Clock::time_point replay_t0;
  auto replay_due = [&](std::int64_t event_ms) {
    const Clock::time_point now = Clock::now();
    if (!replay_first) {
      replay_first = event_ms;
      replay_t0 = now;
      return now;
    }
    const double secs = static_cast<double>(event_ms - *replay_first) / 1000.0 / speedup;
    return secs <= 0 ? now : after(replay_t0, std::min(secs, kMaxReplayWaitSeconds));
  };

  const auto t0 = Clock::now();
  ProgressLine progress(true);
  auto show_progress = [&](const char* phase) {
    if (!progress.due()) return;
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    progress.show("sfcrime produce: " + std::to_string(read) + " read, " + std::to_string(producer.stats().delivered) +
                  " sent, " + std::to_string(rejected) + " rejected, " +
                  std::to_string(static_cast<long long>(static_cast<double>(read) / secs)) + " records/s" + phase);
  };
  std::unique_ptr<EventTimeSorter> sorter;
  if (order == Order::event_time) sorter = std::make_unique<EventTimeSorter>();
  RecordParser parser;
  std::string value;
  RawRecord raw;
  std::exception_ptr input_error;  // the input broke off: deliver what came before, then report
  std::exception_ptr sort_error;   // the temporary sort file failed (IoError): deliver what was sent, then report
  bool stopped = false;
  for (;;) {
    if (interrupted()) {
      stopped = true;
      break;
    }
    if (limit && read >= static_cast<std::uint64_t>(limit)) break;
    try {
      if (!reader.next(raw)) break;
    } catch (const Error&) {  // malformed input, a read error, Ctrl-C on a stalled pipe
      input_error = std::current_exception();
      break;
    }
    ++read;
    if (rate && !sorter) {
      // Pace against the start: record k leaves no earlier than k / rate seconds after t0.
      if (!wait_until(after(t0, static_cast<double>(read - 1) / static_cast<double>(rate)))) {
        stopped = true;
        break;
      }
    }
    std::string error;
    const boost::json::value* v = parser.parse(raw.text, &error);
    if (!v) {
      report(raw.number, raw.line, error);
      continue;
    }
    const Validated ok = validate_record(*v, rules);
    if (!ok.ok()) {
      report(raw.number, raw.line, ok.reason);
      continue;
    }
    value = boost::json::serialize(*v);
    const std::optional<std::string_view> key =
        rules.key_field.empty() ? std::nullopt : std::optional<std::string_view>(ok.key);
    if (sorter) {
      try {
        sorter->add(ok.event_ms, raw.number, key, value);
      } catch (const Error&) {  // the temporary file: nothing can be sent in order
        sort_error = std::current_exception();
        break;
      }
      if ((read & 1023) == 0) producer.poll(0);
      show_progress(", sorting by event time");
      continue;
    }
    if (speedup && !wait_until(replay_due(ok.event_ms))) {
      stopped = true;
      break;
    }
    if (!producer.send(key, value, raw.number)) {
      stopped = true;  // interrupted while the local queue was full: this record was not sent
      break;
    }
    if ((read & 1023) == 0) producer.poll(0);
    show_progress("");
  }

  // --order event-time: send the sorted records (also those read before malformed input).
  if (sorter && !stopped && !sort_error) {
    try {
      sorter->finish();
      if (config.verbosity >= 1)
        std::fprintf(stderr, "sfcrime: sorted %llu records by event time %s\n",
                     static_cast<unsigned long long>(sorter->records()),
                     sorter->runs_spilled() == 0
                         ? "in memory"
                         : ("in " + std::to_string(sorter->runs_spilled()) + " runs, " +
                            std::to_string(sorter->bytes_spilled() / 1000000) + " MB spilled to '" +
                            sorter->tmp_dir() + "'")
                               .c_str());
      const auto send_t0 = Clock::now();
      std::uint64_t sent = 0;
      SortedRecord rec;
      while (sorter->next(rec)) {
        if (interrupted()) {
          stopped = true;
          break;
        }
        Clock::time_point due = rate ? after(send_t0, static_cast<double>(sent) / static_cast<double>(rate)) : send_t0;
        if (speedup) due = std::max(due, replay_due(rec.event_ms));
        if (!wait_until(due) || !producer.send(rec.key, rec.value, rec.number)) {
          stopped = true;
          break;
        }
        if ((++sent & 1023) == 0) producer.poll(0);
        show_progress("");
      }
    } catch (const Error&) {
      sort_error = std::current_exception();
    }
  }
  sorter.reset();  // closes the temporary file now: its space is freed before the wait below
  progress.clear();

  // Wait for every delivery report. librdkafka gives up on a message after message.timeout.ms
  // (120 s by sfcrime's default) and reports it failed, so this loop ends; a second Ctrl-C exits at once.
  // After Ctrl-C the wait is bounded by --timeout as well (the user asked to stop), and the
  // records still without a report are counted as unknown.
  std::optional<std::chrono::steady_clock::time_point> give_up;
  while (producer.flush(500) > 0) {
    if (config.verbosity >= 1)
      std::fprintf(stderr, "sfcrime: waiting for %d delivery reports\n", producer.in_flight());
    if (interrupted()) {
      if (!give_up) give_up = std::chrono::steady_clock::now() + config.timeout;
      if (std::chrono::steady_clock::now() >= *give_up) break;
    }
  }
  const int unknown = producer.in_flight();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const kafka::DeliveryStats& s = producer.stats();
  std::fprintf(stderr,
               "sfcrime produce: %llu read, %llu sent, %llu rejected, %llu failed, %.1f MB, %.2f s, %.0f records/s%s%s\n",
               static_cast<unsigned long long>(read), static_cast<unsigned long long>(s.delivered),
               static_cast<unsigned long long>(rejected), static_cast<unsigned long long>(s.failed),
               static_cast<double>(s.bytes) / 1e6, secs, secs > 0 ? static_cast<double>(s.delivered) / secs : 0.0,
               stopped ? " (interrupted)" : "",
               unknown > 0 ? (", " + std::to_string(unknown) + " without a delivery report").c_str() : "");
  if (stopped || interrupted()) throw InterruptedError("interrupted after " + std::to_string(read) + " records");
  if (sort_error) std::rethrow_exception(sort_error);
  if (s.failed > 0)
    throw UnavailableError(std::to_string(s.failed) + " records were not delivered to '" + topic +
                           "' (see the errors above; -v shows the client's log)");
  if (input_error) std::rethrow_exception(input_error);
  if (rejected > 0) throw DataError(std::to_string(rejected) + " of " + std::to_string(read) + " records were rejected");
  return 0;
}

}  // namespace sfcrime::commands
