// sfcrime aggregate: how many calls of each crime type in each event-time window, and the usual
// disposition of each, computed continuously with the semantics of docs/streaming.md.
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <thread>

#include "sfcrime/base/datetime.hpp"
#include "sfcrime/base/duration.hpp"
#include "sfcrime/base/errors.hpp"
#include "sfcrime/base/progress.hpp"
#include "sfcrime/cli/cli.hpp"
#include "sfcrime/cli/query_options.hpp"
#include "sfcrime/commands/commands.hpp"
#include "sfcrime/kafka/kafka.hpp"
#include "sfcrime/pipeline/state_store.hpp"
#include "sfcrime/pipeline/stream_input.hpp"
#include "sfcrime/pipeline/topic_output.hpp"
#include "sfcrime/pipeline/topology.hpp"
#include "sfcrime/records/radio_codes.hpp"
#include "sfcrime/stream/batch_trigger.hpp"
#include "sfcrime/stream/diagnostics.hpp"
#include "sfcrime/stream/engine.hpp"
#include "sfcrime/stream/query_progress.hpp"
#include "sfcrime/stream/sinks.hpp"

namespace sfcrime::commands {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint64_t kShownRejects = 100;
/// Records taken between two reads of the clock while records flow without a wait (run's loop).
constexpr std::uint32_t kClockEvery = 64;
constexpr std::int64_t kMaxWindowsPerRecord = 10'000;
/// The longest duration any option takes: 100 years keeps window ends inside the years 0-9999 of
/// the data's date-times and every clock computation far from overflow.
constexpr std::int64_t kMaxDurationMs = 36'500LL * 86'400'000;

/// Parses a duration option, at most kMaxDurationMs (0 only with allow_zero). @throws UsageError.
std::int64_t duration_option(const cli::po::variables_map& vm, const char* name, bool allow_zero = false) {
  const std::string text = vm[name].as<std::string>();
  const std::int64_t ms = parse_duration(text, std::string("--") + name, allow_zero).count();
  if (ms > kMaxDurationMs)
    throw OptionError(name, "--" + std::string(name) + " " + text + " is longer than 36500d (100 years)");
  return ms;
}

enum class ProgressMode { automatic, text, json, none };

ProgressMode parse_progress(const std::string& s) {
  if (s == "auto") return ProgressMode::automatic;
  if (s == "text") return ProgressMode::text;
  if (s == "json") return ProgressMode::json;
  if (s == "none") return ProgressMode::none;
  throw OptionError("progress", "invalid --progress '" + s + "' (expected auto, text, json or none)");
}

double per_second(std::uint64_t n, Clock::duration d) {
  const double s = std::chrono::duration<double>(d).count();
  return s > 0 ? static_cast<double>(n) / s : 0.0;
}

}  // namespace

int aggregate(const std::vector<std::string>& args) {
  cli::CommandSpec spec;
  spec.name = "aggregate";
  spec.kafka_defaults = partition_queue_defaults();  // the topic input's consumer (source.hpp)
  spec.synopsis =
      "sfcrime aggregate (--topic TOPIC | --file PATH|-) [--window DURATION [--slide DURATION]]\n"
      "                         [--watermark DURATION] [--output-mode append|update|complete]\n"
      "                         [--trigger DURATION] [--max-records-per-trigger N] [--by FIELD[,FIELD...]]\n"
      "                         [--top K] [--filter FIELD=VALUE[,VALUE...]]... [--output table|json|csv]\n"
      "                         [--output-topic TOPIC] [--late-topic TOPIC] [--progress auto|text|json|none]\n"
      "                         [--from-beginning] [--exit-at-end] [--group GROUP [--exactly-once | --scale-out]]\n"
      "                         [--radio-codes FILE] [options]";
  spec.summary =
      "Counts records in event-time windows (tumbling, or hopping with --slide; [start, end) aligned\n"
      "to the epoch, on the naive wall-clock time of --time-field) per group (--by, default\n"
      "original_crime_type_name), with the usual disposition (the most frequent code, ties to the\n"
      "lexically smallest, described from radio_code.json) and per window the total and the number\n"
      "of distinct groups. Continuously, as Spark Structured Streaming does: micro-batches (--trigger),\n"
      "a watermark (the largest event time seen minus --watermark; it moves per record), output modes\n"
      "append (each window once, final, when the watermark passes its end), update (the rows changed\n"
      "in each batch) and complete (every row each batch). A record all of whose windows ended at or\n"
      "before the watermark is late: counted, not added, and sent to --late-topic unchanged when given.\n"
      "Several partitions are read in event-time order (the smallest event time first, as Kafka\n"
      "Streams does), so partitions each in event-time order give no late record. --file reads a\n"
      "JSON array or NDJSON file (or '-') with the same engine and needs no broker. A progress\n"
      "report per batch goes to stderr (--progress json: Spark's StreamingQueryProgress names).\n"
      "Messages that are not valid records are counted, reported and skipped: exit status 65 after\n"
      "the answer. With --group G --exactly-once each batch is one Kafka transaction: its answer\n"
      "rows, late records, window state (changelog topic G-aggregate-changelog) and input offsets\n"
      "commit together, and a restart after a crash (kill -9 included) restores the state and goes\n"
      "on as if there had been none. Full semantics: docs/streaming.md, docs/exactly-once.md and\n"
      "man sfcrime-aggregate.";
  spec.options.add_options()
      ("topic,t", cli::po::value<std::string>()->value_name("TOPIC"), "topic to read")
      ("file,f", cli::po::value<std::string>()->value_name("PATH|-"),
       "read a JSON array or NDJSON file ('-': standard input) instead of a topic; no broker needed")
      ("window,w", cli::po::value<std::string>()->default_value("30m")->value_name("DURATION"),
       "window length: a whole number and s, m, h or d")
      ("slide", cli::po::value<std::string>()->value_name("DURATION"),
       "hopping windows: a new window every DURATION (at most the window; default: tumbling)")
      ("time-field", cli::po::value<std::string>()->default_value("call_date_time")->value_name("FIELD"),
       "event time field (YYYY-MM-DDTHH:MM:SS[.fff], naive)")
      ("watermark", cli::po::value<std::string>()->default_value("1h")->value_name("DURATION"),
       "allowed delay: watermark = largest event time seen - DURATION")
      ("output-mode", cli::po::value<std::string>()->default_value("append")->value_name("MODE"),
       "append (closed windows, once), update (changed rows) or complete (all rows) each batch;\n"
       "on a live stream give complete mode a --trigger")
      ("trigger", cli::po::value<std::string>()->value_name("DURATION"),
       "a micro-batch every DURATION of processing time (default: as soon as records are there)")
      ("max-records-per-trigger", cli::po::value<long long>()->value_name("N"),
       "at most N messages per micro-batch (Spark's maxOffsetsPerTrigger)")
      ("by", cli::po::value<std::string>()->default_value("original_crime_type_name")->value_name("FIELD[,FIELD...]"),
       "group by these fields (e.g. disposition, address_type, city)")
      ("top", cli::po::value<long long>()->value_name("K"), "emit at most K rows per window, by count")
      ("filter", cli::po::value<std::vector<std::string>>()->value_name("FIELD=VALUE[,VALUE...]"),
       "keep only records whose FIELD is one of the values (repeatable; all must hold)")
      ("output,o", cli::po::value<std::string>()->default_value("table")->value_name("FORMAT"),
       "table (for people), json (one object per row) or csv")
      ("output-topic", cli::po::value<std::string>()->value_name("TOPIC"),
       "also send each row to TOPIC (key [window_start, keys...], value the JSON row); stdout\n"
       "stays empty unless --output is given")
      ("late-topic", cli::po::value<std::string>()->value_name("TOPIC"),
       "send late records to TOPIC unchanged, with headers saying why")
      ("progress", cli::po::value<std::string>()->default_value("auto")->value_name("MODE"),
       "per-batch report on stderr: auto (a line on a terminal), text, json or none")
      ("max-idle", cli::po::value<std::string>()->default_value("2s")->value_name("DURATION"),
       "go on without a partition that sends nothing for DURATION")
      ("from-beginning", "start at the earliest offset (with --group: when the group has no committed offset)")
      ("exit-at-end,e", "close every window, emit it and exit once every partition was read to its end")
      ("group,g", cli::po::value<std::string>()->value_name("GROUP"), "consumer group id (share partitions)")
      ("exactly-once",
       "with --group: one transaction per batch (rows, late records, state and offsets), state restored on start")
      ("scale-out",
       "with --group: exactly once, shared by every process of the group (records regrouped by group key through Kafka)")
      ("radio-codes", cli::po::value<std::string>()->value_name("FILE"),
       "radio_code.json with disposition descriptions (env SFCRIME_RADIO_CODES)");
  spec.examples =
      "  sfcrime aggregate --topic police-calls --window 30m --from-beginning --exit-at-end\n"
      "  sfcrime aggregate --topic police-calls --from-beginning --output-mode update --trigger 5s \\\n"
      "      --progress json   # the topic so far, then live\n"
      "  sfcrime aggregate --file calls.json --watermark 91d --window 1h --slide 15m --by disposition \\\n"
      "      --top 5 --output csv   # the file runs newest first, 91 days out of event-time order\n"
      "  sfcrime aggregate --topic police-calls --from-beginning -e \\\n"
      "      --filter 'original_crime_type_name=Assault / Battery,Burglary,Robbery'\n"
      "  sfcrime aggregate --topic police-calls --group calls-30m --exactly-once --from-beginning \\\n"
      "      --output-topic calls-30m\n";
  spec.alternatives = {{"topic", "file"}};  // a configured default topic does not clash with --file
  auto parsed = cli::parse(spec, args);
  if (!parsed) return 0;
  const auto& vm = parsed->vm;
  const Config& config = parsed->config;

  // --- the query -------------------------------------------------------------------------------
  if (vm.count("topic") == vm.count("file"))
    throw UsageError("give exactly one input: --topic TOPIC or --file PATH (see 'sfcrime aggregate --help')");
  const bool from_file = vm.count("file") > 0;
  StreamSpec q;
  q.windows.size_ms = duration_option(vm, "window");
  q.windows.slide_ms = q.windows.size_ms;
  if (vm.count("slide")) {
    q.windows.slide_ms = duration_option(vm, "slide");
    if (q.windows.slide_ms > q.windows.size_ms)
      throw OptionError("slide", "--slide " + vm["slide"].as<std::string>() + " is longer than --window " +
                       vm["window"].as<std::string>() + " (a hopping window slides by at most its length)");
    if (q.windows.size_ms / q.windows.slide_ms > kMaxWindowsPerRecord)
      throw OptionError("slide", "--window / --slide gives more than " + std::to_string(kMaxWindowsPerRecord) +
                       " windows per record; choose a longer --slide");
  }
  // "0s" is allowed for the watermark: no delay at all.
  q.watermark_delay_ms = duration_option(vm, "watermark", /*allow_zero=*/true);  // 0s: no delay
  q.mode = parse_output_mode(vm["output-mode"].as<std::string>());
  q.by = parse_field_list(vm["by"].as<std::string>(), "--by");
  // A grouping field is a key of the JSON row and a CSV column: one named like the row's own keys
  // (or named twice) would overwrite a value or make rows of different groups alike.
  for (std::size_t i = 0; i < q.by.size(); ++i) {
    static constexpr const char* kRowKeys[] = {"window_start", "window_end", "count", "usual_disposition",
                                               "usual_disposition_description", "window_total", "window_distinct",
                                               "final", "batch_id"};
    for (const char* k : kRowKeys)
      if (q.by[i] == k)
        throw OptionError("by", "--by " + q.by[i] + " is a column of the answer's own rows; group by another field");
    for (std::size_t j = 0; j < i; ++j)
      if (q.by[j] == q.by[i]) throw OptionError("by", "--by names '" + q.by[i] + "' twice");
  }
  q.time_field = vm["time-field"].as<std::string>();
  if (q.time_field.empty()) throw OptionError("time-field", "--time-field needs a field name");
  if (vm.count("filter"))
    for (const std::string& f : vm["filter"].as<std::vector<std::string>>()) q.filters.push_back(parse_filter(f));
  if (vm.count("top")) q.top = static_cast<std::size_t>(cli::positive(vm, "top"));
  const std::uint64_t max_per_trigger =
      vm.count("max-records-per-trigger") ? static_cast<std::uint64_t>(cli::positive(vm, "max-records-per-trigger")) : 0;
  const bool trigger = vm.count("trigger") > 0;  // else: as soon as records are there
  const Clock::duration interval =
      trigger ? Clock::duration(std::chrono::milliseconds(duration_option(vm, "trigger"))) : Clock::duration::zero();
  const auto max_idle = std::chrono::milliseconds(duration_option(vm, "max-idle"));
  const OutputFormat format = parse_output_format(vm["output"].as<std::string>());
  const ProgressMode progress_mode = parse_progress(vm["progress"].as<std::string>());
  const std::optional<std::string> output_topic =
      vm.count("output-topic") ? std::optional(vm["output-topic"].as<std::string>()) : std::nullopt;
  const std::optional<std::string> late_topic =
      vm.count("late-topic") ? std::optional(vm["late-topic"].as<std::string>()) : std::nullopt;
  if (!from_file) {
    // Writing into the topic being read would feed the answer back into itself.
    const std::string& in = vm["topic"].as<std::string>();
    if ((output_topic && *output_topic == in) || (late_topic && *late_topic == in))
      throw OptionError(output_topic && *output_topic == in ? "output-topic" : "late-topic", "--output-topic and --late-topic must differ from the input topic '" + in + "'");
  }
  const bool scale_out = vm.count("scale-out") > 0;
  const bool exactly_once = vm.count("exactly-once") > 0;
  if (exactly_once && scale_out)
    throw UsageError("give --exactly-once (one process per group) or --scale-out (any number), not both");
  if ((exactly_once || scale_out) && (from_file || !vm.count("group")))
    throw UsageError(std::string(scale_out ? "--scale-out" : "--exactly-once") +
                     " needs --topic and --group (the group's offsets commit with each batch)");
  if (from_file) {
    for (const char* o : {"group", "from-beginning", "exit-at-end", "max-idle"})
      if (vm.count(o) && !vm[o].defaulted())
        throw UsageError(std::string("--") + o + " applies to --topic, not to --file");
  }
  const RadioCodes codes = config.radio_codes.empty() ? RadioCodes{} : RadioCodes::load(config.radio_codes);

  if (scale_out) {
    ScaleOutOptions so;
    so.topic = vm["topic"].as<std::string>();
    so.group = vm["group"].as<std::string>();
    so.from_beginning = vm.count("from-beginning") > 0;
    so.exit_at_end = vm.count("exit-at-end") > 0;
    so.trigger = trigger ? std::chrono::duration_cast<std::chrono::milliseconds>(interval) : std::chrono::milliseconds(0);
    so.max_records_per_trigger = max_per_trigger;
    so.max_idle = max_idle;
    so.output_topic = output_topic;
    so.late_topic = late_topic;
    so.rows_to_stdout = !output_topic || !vm["output"].defaulted();
    so.format = format;
    so.labels = RowLabels{q.by, config.radio_codes.empty() ? nullptr : &codes};
    so.progress = progress_mode == ProgressMode::json ? 2 : progress_mode == ProgressMode::text ? 1 : 0;
    const auto start = Clock::now();
    ScaleOutTotals t;
    try {
      t = run_scale_out(config, q, so);
    } catch (const OutputClosed&) {
      return 0;  // `aggregate | head`: the reader is gone; the open batch was aborted, as above
    }
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::fprintf(stderr,
                 "sfcrime aggregate: %llu records regrouped, %llu late, %llu invalid, %llu filtered, %llu batches, "
                 "%llu rows out, %llu rebalances, %.2f s\n",
                 static_cast<unsigned long long>(t.input), static_cast<unsigned long long>(t.late),
                 static_cast<unsigned long long>(t.invalid), static_cast<unsigned long long>(t.filtered),
                 static_cast<unsigned long long>(t.batches), static_cast<unsigned long long>(t.rows_out),
                 static_cast<unsigned long long>(t.rebalances), secs);
    LateFacts late;
    late.valid = t.input - t.invalid - t.filtered;
    late.late = t.late;
    late.max_disorder_ms = t.max_disorder_ms;
    late.newest_first = t.newest_first;
    late.watermark_delay_ms = q.watermark_delay_ms;
    if (const auto w = late_warning(late)) std::fprintf(stderr, "sfcrime aggregate: warning: %s\n", w->c_str());
    if (interrupted()) throw InterruptedError("interrupted; the output above covers the batches that ended");
    if (t.invalid > 0) throw DataError(std::to_string(t.invalid) + " messages were not valid records and were skipped");
    return 0;
  }

  // --- input and outputs -----------------------------------------------------------------------
  // With --exactly-once one transactional producer writes every output (answer rows, late
  // records, the changelog); it is made, and fences any older process of the group, first.
  StreamEngine engine(q);
  std::unique_ptr<kafka::Producer> txn;
  std::unique_ptr<changelog::Writer> state_log;
  std::string group;
  auto report_failure = [](const char* what) {
    return [what](const kafka::DeliveryReport& r) {
      if (!r.delivered())
        std::fprintf(stderr, "sfcrime: %s %llu not delivered: %s\n", what, static_cast<unsigned long long>(r.record),
                     r.error_text);
    };
  };
  // In a transaction one failed message fails the whole batch: say it once, not per message.
  auto report_first_failure = [](const char* what) {
    return [what, shown = false](const kafka::DeliveryReport& r) mutable {
      if (!r.delivered() && !std::exchange(shown, true))
        std::fprintf(stderr, "sfcrime: %s not delivered: %s\n", what, r.error_text);
    };
  };
  // In a transaction, stdout shows a batch's rows once the batch committed. Made first: a run
  // that cannot hold them (no writable /tmp) stops before creating any topic.
  std::unique_ptr<DeferredOutput> deferred;
  if (exactly_once) {
    deferred = std::make_unique<DeferredOutput>(stdout);
    group = vm["group"].as<std::string>();
    const std::string query = changelog::describe_query(q, vm["topic"].as<std::string>());
    // A run refused for a missing topic creates none of its own.
    changelog::require_topics(config, {vm["topic"].as<std::string>(), output_topic.value_or(""), late_topic.value_or("")});
    changelog::ensure_topic(config, group);
    txn = std::make_unique<kafka::Producer>(
        config, changelog::topic_name(group), report_first_failure("a message of the transaction"),
        std::vector<kafka::Property>{{"transactional.id", "sfcrime-aggregate-" + group},
                                     {"transaction.timeout.ms", "60000"},
                                     // librdkafka wants message.timeout.ms <= transaction.timeout.ms.
                                     {"message.timeout.ms", "55000"}});
    txn->init_transactions();
    state_log = std::make_unique<changelog::Writer>(*txn, 0, query);
    const changelog::Restored r = changelog::restore(config, group, query, engine);
    if (progress_mode != ProgressMode::none)
      std::fprintf(stderr,
                   "sfcrime aggregate: group '%s': %s %llu windows (%llu rows) from '%s', next batch %lld, watermark %s\n",
                   group.c_str(), r.clock ? "restored" : "no state yet,", static_cast<unsigned long long>(r.windows),
                   static_cast<unsigned long long>(r.rows), changelog::topic_name(group).c_str(),
                   static_cast<long long>(engine.batch_id()), format_watermark(engine.watermark()).c_str());
  }
  std::unique_ptr<StreamInput> input;
  KafkaInput* kafka_input = nullptr;
  std::string source_topic;
  if (from_file) {
    input = std::make_unique<FileInput>(vm["file"].as<std::string>(), q);
  } else {
    SourceOptions o;
    o.topic = source_topic = vm["topic"].as<std::string>();
    if (vm.count("group")) o.group = vm["group"].as<std::string>();
    o.from_beginning = vm.count("from-beginning") > 0;
    o.exit_at_end = vm.count("exit-at-end") > 0;
    o.manual_commit = true;  // a group's offsets move only once a batch's answer is written
    o.transactional = exactly_once;
    auto k = std::make_unique<KafkaInput>(config, o, q, max_idle);
    kafka_input = k.get();
    input = std::move(k);
  }
  // Late records and answer rows go through their own producers, or through the transactional one.
  std::unique_ptr<kafka::Producer> late_producer, output_producer;
  kafka::Producer* late_out = nullptr;
  std::size_t late_index = 0;
  if (late_topic) {
    if (txn) {
      late_out = txn.get();
      late_index = txn->add_topic(*late_topic);
    } else {
      late_producer = std::make_unique<kafka::Producer>(config, *late_topic, report_failure("late record"));
      late_out = late_producer.get();
    }
  }
  // Without a radio codes file the rows make no claim about one (no "(not in radio codes)").
  const RowLabels labels{q.by, config.radio_codes.empty() ? nullptr : &codes};
  std::vector<std::unique_ptr<Sink>> sinks;
  if (!output_topic || !vm["output"].defaulted())
    sinks.push_back(make_sink(format, deferred ? deferred->file() : stdout, labels));
  if (output_topic) {
    if (txn) {
      sinks.push_back(make_topic_sink(*txn, *output_topic, labels, txn->add_topic(*output_topic)));
    } else {
      output_producer = std::make_unique<kafka::Producer>(config, *output_topic, report_failure("answer row"));
      sinks.push_back(make_topic_sink(*output_producer, *output_topic, labels));
    }
  }
  TeeSink sink(std::move(sinks));
  // Windows are emitted and freed as the watermark closes them, not when the batch ends.
  engine.emit_while_running(&sink, state_log.get());
  // Whatever ends the run with a transaction open aborts it (a kill -9 leaves it to the next
  // start's init_transactions or to transaction.timeout.ms).
  struct AbortOpen {
    kafka::Producer* p;
    ~AbortOpen() {
      if (p) p->abort_transaction();
    }
  } abort_open{txn.get()};
  auto begin_transaction = [&] {
    if (txn && !txn->in_transaction()) txn->begin_transaction();
  };

  // --- the stream ------------------------------------------------------------------------------
  std::uint64_t invalid_shown = 0, rows_out = 0, batches = 0, late_sent = 0;
  const auto t0 = Clock::now();
  auto prev_trigger = t0;
  boost::json::object start_positions;
  input->positions(start_positions);
  ProgressLine line(progress_mode == ProgressMode::automatic);

  ByFieldCheck by_check(q.by);
  const QueryIdentity identity = QueryIdentity::make(
      changelog::describe_query(q, from_file ? vm["file"].as<std::string>() : vm["topic"].as<std::string>()),
      vm.count("group") ? std::optional(vm["group"].as<std::string>()) : std::nullopt);
  auto process = [&](InputItem& it) {
    begin_transaction();
    const bool added = engine.add(it.x);
    by_check.see(it.x, it.value);
    if (it.x.kind == Extracted::Kind::invalid) {
      if (++invalid_shown <= kShownRejects) {
        if (from_file)
          std::fprintf(stderr, "sfcrime: record %lld (line %llu) skipped: %s\n", static_cast<long long>(it.offset),
                       static_cast<unsigned long long>(it.line), it.x.reason.c_str());
        else
          std::fprintf(stderr, "sfcrime: '%s' partition %d offset %lld skipped: %s\n", source_topic.c_str(), it.partition,
                       static_cast<long long>(it.offset), it.x.reason.c_str());
      } else if (invalid_shown == kShownRejects + 1) {
        std::fprintf(stderr, "sfcrime: more messages skipped; only the count is reported from now on\n");
      }
      return;
    }
    if (added || !late_out) return;
    // Nothing is lost: the late record goes on unchanged, with why in its headers.
    std::vector<kafka::Header> headers = late_headers(it.x.event_ms, engine.watermark());
    if (from_file) {
      headers.emplace_back("sfcrime.source.file", vm["file"].as<std::string>());
      headers.emplace_back("sfcrime.source.record", std::to_string(it.offset));
    } else {
      headers.emplace_back("sfcrime.source.topic", source_topic);
      headers.emplace_back("sfcrime.source.partition", std::to_string(it.partition));
      headers.emplace_back("sfcrime.source.offset", std::to_string(it.offset));
    }
    if (!late_out->send({.topic = late_index, .key = it.key, .value = it.value, .headers = headers}, ++late_sent))
      throw InterruptedError("interrupted while sending late records to '" + *late_topic + "'");
  };

  auto run_batch = [&](bool final_batch, Clock::time_point batch_start) {
    const BatchCounters c = engine.batch();  // end_batch() resets it
    const std::int64_t id = engine.batch_id();
    const auto emit_start = Clock::now();
    begin_transaction();
    const std::uint64_t emitted = engine.end_batch(final_batch, sink, state_log.get());
    rows_out += emitted;
    ++batches;
    for (const std::string& w : by_check.end_batch(id)) std::fprintf(stderr, "sfcrime aggregate: warning: %s\n", w.c_str());
    if (txn) {
      // Rows, late records, state and the input offsets become visible together.
      txn->commit_transaction(kafka_input->processed_offsets(), kafka_input->consumer());
      if (deferred) deferred->release();
    } else {
      if (late_producer) late_producer->deliver_all("late records");  // before the input offsets are committed
      // The last commit of the run must not be skipped as routine: none would follow it.
      input->commit(final_batch || interrupted());
    }
    const auto done = Clock::now();
    boost::json::object end_positions;
    input->positions(end_positions);
    if (progress_mode == ProgressMode::json || progress_mode == ProgressMode::text) {
      BatchProgress b;
      b.batch_id = id;
      b.counters = c;
      b.counters.rows_out = emitted;
      b.watermark = engine.watermark();
      b.rows_total = engine.rows_total();
      b.windows_total = engine.windows_held();
      b.input_rows_per_second = per_second(c.input, batch_start - prev_trigger);
      b.processed_rows_per_second = per_second(c.input, done - batch_start);
      b.add_batch_ms = std::chrono::duration_cast<std::chrono::milliseconds>(done - emit_start).count();
      b.trigger_execution_ms = std::chrono::duration_cast<std::chrono::milliseconds>(done - batch_start).count();
      b.source = input->description();
      b.start_offset = start_positions;
      b.end_offset = end_positions;
      b.sink = sink.description();
      if (progress_mode == ProgressMode::json)
        std::fprintf(stderr, "%s\n", boost::json::serialize(progress_json(identity, b, utc_timestamp())).c_str());
      else
        std::fprintf(stderr, "%s\n", progress_text(b).c_str());
    }
    std::fflush(stderr);
    start_positions = std::move(end_positions);
    prev_trigger = batch_start;
  };

  auto show_line = [&] {
    if (!line.due()) return;
    const BatchCounters& t = engine.totals();
    const BatchCounters& b = engine.batch();
    line.show("sfcrime aggregate: batch " + std::to_string(engine.batch_id()) + ", " +
              std::to_string(t.input + b.input) + " records, " + std::to_string(t.late + b.late) + " late, " +
              std::to_string(engine.windows_held()) + " windows open, watermark " + format_watermark(engine.watermark()));
  };

  BatchTrigger batch_trigger({std::chrono::duration_cast<std::chrono::milliseconds>(interval), max_per_trigger, true}, t0);
  bool ended = false;
  try {
    while (!interrupted()) {
      // Wait for the first record of the next batch.
      InputItem* it = nullptr;
      auto idle_since = Clock::now();
      while (!interrupted() && !(it = input->take(std::chrono::milliseconds(200)))) {
        if (input->at_end()) break;
        // Exactly-once and idle: a transaction holding only the (unchanged) offsets, every 5 s,
        // so that a process replaced by a newer one of the group learns it now (fenced: exit
        // 69), not when the next record comes.
        if (txn && Clock::now() - idle_since >= std::chrono::seconds(5)) {
          txn->begin_transaction();
          txn->commit_transaction(kafka_input->processed_offsets(), kafka_input->consumer());
          idle_since = Clock::now();
        }
      }
      if (!it) break;
      const auto batch_start = Clock::now();
      batch_trigger.begin(batch_start);
      input->begin_batch();
      process(*it);
      Clock::time_point now = Clock::now();
      batch_trigger.took(now);
      std::uint32_t flowing = 0;
      while (!interrupted()) {
        show_line();
        if (batch_trigger.full(engine.batch().input)) {
          // A full batch takes nothing more; under --trigger it still ends at its time.
          while (batch_trigger.timed() && Clock::now() < batch_trigger.end_time() && !interrupted())
            std::this_thread::sleep_for(
                std::min<Clock::duration>(batch_trigger.end_time() - Clock::now(), std::chrono::milliseconds(50)));
          break;
        }
        // While records flow without a wait the clock is read every kClockEvery records (a read
        // per record took 5% of aggregate's time over a topic). A record was just processed, so
        // the quiet time (default trigger) starts now; it starts again when nothing is ready.
        if (flowing >= kClockEvery) {
          flowing = 0;
          now = Clock::now();
          batch_trigger.took(now);
        }
        if (batch_trigger.due(now, engine.batch().input, !batch_trigger.timed() && input->batch_complete())) break;
        it = input->take(std::chrono::milliseconds(0));
        if (!it && !interrupted() && !input->at_end()) {
          now = Clock::now();
          batch_trigger.took(now);
          it = input->take(batch_trigger.wait(now));
          now = Clock::now();
        }
        if (it) {
          process(*it);
          batch_trigger.took(now);
          ++flowing;
          continue;
        }
        if (input->at_end()) break;
      }
      line.clear();
      // The batch that reaches the end of input is the final one: every window closes in it, so
      // update mode marks its rows final too.
      ended = input->at_end() && !interrupted();
      run_batch(ended, batch_start);
      if (ended) break;
    }
    line.clear();
    if (!ended && input->at_end() && !interrupted()) {  // the input ended between batches
      ended = true;
      run_batch(true, Clock::now());
    }
  } catch (const OutputClosed&) {
    // `aggregate | head`: the reader is gone. Stop quietly, as consume does, without committing
    // what was not written.
    line.clear();
    input->close();
    return 0;
  } catch (const FencedError& e) {
    line.clear();
    // The hint only where it applies: other fatal errors (authorization, ...) need no hunt for a
    // second process.
    if (e.kind() != FencedError::Kind::fenced) throw;
    throw FencedError(e.kind(), std::string(e.what()) + " (did another 'sfcrime aggregate --exactly-once --group " + group +
                      "' start? it takes over group '" + group + "' and this process stops)");
  }
  input->close();

  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  const BatchCounters& t = engine.totals();
  std::fprintf(stderr,
               "sfcrime aggregate: %llu records, %llu late, %llu invalid, %llu filtered, %llu batches, %llu rows out, "
               "%.2f s, %.0f records/s\n",
               static_cast<unsigned long long>(t.input), static_cast<unsigned long long>(t.late),
               static_cast<unsigned long long>(t.invalid), static_cast<unsigned long long>(t.filtered),
               static_cast<unsigned long long>(batches), static_cast<unsigned long long>(rows_out), secs,
               secs > 0 ? static_cast<double>(t.input) / secs : 0.0);
  LateFacts late;
  late.valid = t.input - t.invalid - t.filtered;
  late.late = t.late;
  late.max_disorder_ms = engine.max_disorder_ms();
  late.partition_disorder_ms = input->partition_disorder_ms();
  late.newest_first = engine.newest_came_first();
  late.watermark_delay_ms = q.watermark_delay_ms;
  if (const auto w = late_warning(late)) std::fprintf(stderr, "sfcrime aggregate: warning: %s\n", w->c_str());
  if (interrupted()) throw InterruptedError("interrupted; the output above covers the batches that ended");
  if (const std::exception_ptr e = input->failure()) {
    std::fprintf(stderr, "sfcrime aggregate: the input ended early; the answer above covers the %llu records before the "
                 "error below\n", static_cast<unsigned long long>(t.input));
    std::rethrow_exception(e);
  }
  if (t.invalid > 0)
    throw DataError(std::to_string(t.invalid) + " messages were not valid records and were skipped");
  return 0;
}

}  // namespace sfcrime::commands
