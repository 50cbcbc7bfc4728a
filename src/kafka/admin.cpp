#include "sfcrime/kafka/admin.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <thread>
#include <tuple>

#include "sfcrime/base/errors.hpp"

namespace sfcrime::kafka {

// ---------------------------------------------------------------------------------------------
// Admin

Admin::Admin(const Config& config)
    : Client(RD_KAFKA_PRODUCER, config, make_conf(config, {{"log.connection.close", "false"}})) {}

Admin::~Admin() { destroy_handle(); }

namespace {
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const noexcept { rd_kafka_queue_destroy(q); }
};
struct EventDeleter {
  void operator()(rd_kafka_event_t* e) const noexcept { rd_kafka_event_destroy(e); }
};
struct OptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const noexcept { rd_kafka_AdminOptions_destroy(o); }
};

std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> admin_options(rd_kafka_t* rk, rd_kafka_admin_op_t op,
                                                                        std::chrono::milliseconds timeout) {
  std::unique_ptr<rd_kafka_AdminOptions_t, OptionsDeleter> o(rd_kafka_AdminOptions_new(rk, op));
  char errstr[256];
  rd_kafka_AdminOptions_set_request_timeout(o.get(), static_cast<int>(timeout.count()), errstr, sizeof errstr);
  rd_kafka_AdminOptions_set_operation_timeout(o.get(), static_cast<int>(timeout.count()), errstr, sizeof errstr);
  return o;
}

// Waits for the one result event of an admin request, bounded by the timeout plus a margin.
std::unique_ptr<rd_kafka_event_t, EventDeleter> await(Client& c, rd_kafka_queue_t* q, const std::string& what) {
  std::unique_ptr<rd_kafka_event_t, EventDeleter> ev;
  const auto deadline = std::chrono::steady_clock::now() + c.config().timeout + std::chrono::seconds(2);
  while (!ev && std::chrono::steady_clock::now() < deadline) {
    ev.reset(rd_kafka_queue_poll(q, static_cast<int>(kWaitSliceMs)));
    if (!ev && interrupted()) throw InterruptedError("interrupted while waiting for " + what);
  }
  if (!ev) throw UnavailableError(c.unreachable_message(what));
  if (rd_kafka_event_error(ev.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const auto err = rd_kafka_event_error(ev.get());
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT)
      throw UnavailableError(c.unreachable_message(what));
    throw UnavailableError(what + " failed: " + rd_kafka_event_error_string(ev.get()));
  }
  return ev;
}

using Event = std::unique_ptr<rd_kafka_event_t, EventDeleter>;

/// One Admin API request, the steps every admin call shares: a metadata round trip first (a clear
/// "cannot reach" when the broker is not there), Config::timeout as the request's and the
/// operation's timeout, validate_only for a dry run, a queue of its own, `call` (which issues the
/// request: rd_kafka_CreateTopics, ...), and the wait for its one result event (await()).
Event request(Admin& admin, rd_kafka_admin_op_t op, const std::string& what,
              const std::function<void(rd_kafka_t*, const rd_kafka_AdminOptions_t*, rd_kafka_queue_t*)>& call,
              bool validate_only = false) {
  admin.metadata(false);
  auto opts = admin_options(admin.get(), op, admin.config().timeout);
  char errstr[256];
  if (validate_only) rd_kafka_AdminOptions_set_validate_only(opts.get(), 1, errstr, sizeof errstr);
  std::unique_ptr<rd_kafka_queue_t, QueueDeleter> q(rd_kafka_queue_new(admin.get()));
  call(admin.get(), opts.get(), q.get());
  return await(admin, q.get(), what);
}

/// The first of a request's `n` results; none is sfcrime's bug (the request named one).
template <class T>
const T* first_result(const T** results, std::size_t n, const char* request, const std::string& name) {
  if (n == 0) throw Error(Exit::software, std::string(request) + " returned no result for '" + name + "'");
  return results[0];
}
}  // namespace

namespace {
// CreateTopics for one topic, with validate_only for a dry run. @returns false when the topic exists
// and `if_not_exists` is set; throws as Admin::create_topic documents.
bool request_create_topic(Admin& admin, const Admin::NewTopic& topic, bool if_not_exists, bool validate_only) {
  char errstr[512];
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.name.c_str(), topic.partitions, topic.replication_factor,
                                                  errstr, sizeof errstr);
  if (!nt) throw UsageError("cannot create topic '" + topic.name + "': " + errstr);
  std::unique_ptr<rd_kafka_NewTopic_t, void (*)(rd_kafka_NewTopic_t*)> guard(nt, rd_kafka_NewTopic_destroy);
  for (const auto& [k, v] : topic.configs) {
    if (rd_kafka_NewTopic_set_config(nt, k.c_str(), v.c_str()) != RD_KAFKA_RESP_ERR_NO_ERROR)
      throw UsageError("cannot set topic config '" + k + "'");
  }
  const std::string what = std::string(validate_only ? "the validation of" : "the creation of") + " topic '" +
                           topic.name + "'";
  const Event ev = request(
      admin, RD_KAFKA_ADMIN_OP_CREATETOPICS, what,
      [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) { rd_kafka_CreateTopics(rk, &nt, 1, o, q); },
      validate_only);
  size_t n = 0;
  const rd_kafka_topic_result_t** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
    const char* why = rd_kafka_topic_result_error_string(res[i]);
    const std::string reason = why && *why ? why : error_text(err);
    if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      if (if_not_exists) return false;
      throw Error(Exit::failure, "topic '" + topic.name + "' already exists (add --if-not-exists to accept that)");
    }
    if (err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT || err == RD_KAFKA_RESP_ERR__TIMED_OUT)
      throw UnavailableError(admin.unreachable_message(what));
    throw Error(Exit::failure, "the broker refused to create topic '" + topic.name + "': " + reason + " (" +
                                   rd_kafka_err2name(err) + ")");
  }
  throw Error(Exit::software, "CreateTopics returned no result for '" + topic.name + "'");
}
}  // namespace

bool Admin::create_topic(const NewTopic& topic, bool if_not_exists) {
  if (!request_create_topic(*this, topic, if_not_exists, /*validate_only=*/false)) return false;
  if (!wait_until_ready(topic.name, topic.partitions))
    // The topic exists now: say so, so that the next step is a wait, not another create.
    throw UnavailableError("topic '" + topic.name + "' was created but not all of its " +
                           std::to_string(topic.partitions) + " partitions had a leader that answers within " +
                           seconds_text(config().timeout) + " s (sfcrime topic describe " + topic.name +
                           " shows the leaders; a longer --timeout waits longer)");
  return true;
}

bool Admin::validate_create_topic(const NewTopic& topic, bool if_not_exists) {
  return request_create_topic(*this, topic, if_not_exists, /*validate_only=*/true);
}

bool Admin::wait_until_ready(const std::string& name, int partitions) {
  const auto deadline = std::chrono::steady_clock::now() + config().timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    Metadata md = metadata(true);
    for (int i = 0; i < md->topic_cnt; ++i) {
      const rd_kafka_metadata_topic_t& t = md->topics[i];
      if (name != t.topic || t.err || t.partition_cnt != partitions) continue;
      bool led = true;
      for (int p = 0; p < t.partition_cnt; ++p) led = led && t.partitions[p].leader >= 0 && !t.partitions[p].err;
      if (!led) break;
      // Every leader is known; also ask one for offsets, which is what the next command does.
      std::int64_t low = 0, high = 0;
      const rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(handle_.get(), name.c_str(), 0, &low, &high, 1000);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
    }
    if (interrupted()) throw InterruptedError("interrupted while waiting for topic '" + name + "' to be ready");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

bool Admin::delete_topic(const std::string& name, bool if_exists) {
  rd_kafka_DeleteTopic_t* dt = rd_kafka_DeleteTopic_new(name.c_str());
  std::unique_ptr<rd_kafka_DeleteTopic_t, void (*)(rd_kafka_DeleteTopic_t*)> guard(dt, rd_kafka_DeleteTopic_destroy);
  const Event ev = request(*this, RD_KAFKA_ADMIN_OP_DELETETOPICS, "the deletion of topic '" + name + "'",
                           [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                             rd_kafka_DeleteTopics(rk, &dt, 1, o, q);
                           });
  size_t n = 0;
  const rd_kafka_topic_result_t** res = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev.get()), &n);
  for (size_t i = 0; i < n; ++i) {
    const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return true;
    if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      if (if_exists) return false;
      throw NoInputError("topic '" + name + "' does not exist (add --if-exists to accept that)");
    }
    const char* why = rd_kafka_topic_result_error_string(res[i]);
    throw Error(Exit::failure, "the broker refused to delete topic '" + name + "': " + (why && *why ? why : error_text(err)));
  }
  throw Error(Exit::software, "DeleteTopics returned no result for '" + name + "'");
}

// --- topic configuration, partitions --------------------------------------------------------------

namespace {
struct ConfigResourceDeleter {
  void operator()(rd_kafka_ConfigResource_t* r) const noexcept { rd_kafka_ConfigResource_destroy(r); }
};
using ConfigResource = std::unique_ptr<rd_kafka_ConfigResource_t, ConfigResourceDeleter>;

std::string missing_group_message(const Config& config, const std::string& id) {
  return "consumer group '" + id + "' does not exist on '" + config.bootstrap_servers +
         "' (sfcrime group list shows the groups)";
}

// The broker's reason for `err`: its own text when it sent one, else librdkafka's, then the code's
// name, e.g. "Topic 'x' does not exist (UNKNOWN_TOPIC_OR_PART)".
std::string reason(rd_kafka_resp_err_t err, const char* why) {
  return std::string(why && *why ? why : rd_kafka_err2str(err)) + " (" + rd_kafka_err2name(err) + ")";
}

bool timed_out(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT || err == RD_KAFKA_RESP_ERR__TIMED_OUT ||
         err == RD_KAFKA_RESP_ERR__TRANSPORT;
}
}  // namespace

std::vector<Admin::ConfigEntry> Admin::describe_topic_configs(const std::string& name) {
  ConfigResource res(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str()));
  rd_kafka_ConfigResource_t* arr[] = {res.get()};
  const std::string what = "the configuration of topic '" + name + "'";
  const Event ev = request(*this, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, what,
                           [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                             rd_kafka_DescribeConfigs(rk, arr, 1, o, q);
                           });
  size_t n = 0;
  const rd_kafka_ConfigResource_t** rs = rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev.get()), &n);
  const rd_kafka_ConfigResource_t* r = first_result(rs, n, "DescribeConfigs", name);
  const rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(r);
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) throw NoInputError(missing_topic_message(config(), name));
  if (timed_out(err)) throw UnavailableError(unreachable_message(what));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw Error(Exit::failure, "the broker refused to describe the configuration of topic '" + name + "': " +
                                   reason(err, rd_kafka_ConfigResource_error_string(r)));
  size_t cnt = 0;
  const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(r, &cnt);
  std::vector<ConfigEntry> out;
  out.reserve(cnt);
  for (size_t i = 0; i < cnt; ++i) {
    ConfigEntry e;
    e.name = rd_kafka_ConfigEntry_name(entries[i]);
    e.sensitive = rd_kafka_ConfigEntry_is_sensitive(entries[i]) == 1;
    const char* v = rd_kafka_ConfigEntry_value(entries[i]);
    // The broker sends no value for a sensitive entry; never print one even if it did.
    if (v && !e.sensitive) e.value = v;
    const rd_kafka_ConfigSource_t source = rd_kafka_ConfigEntry_source(entries[i]);
    e.source_name = rd_kafka_ConfigSource_name(source);
    e.topic_override = source == RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG;
    e.read_only = rd_kafka_ConfigEntry_is_read_only(entries[i]) == 1;
    e.is_default = rd_kafka_ConfigEntry_is_default(entries[i]) == 1;
    out.push_back(std::move(e));
  }
  std::sort(out.begin(), out.end(), [](const ConfigEntry& a, const ConfigEntry& b) { return a.name < b.name; });
  return out;
}

void Admin::incremental_alter_topic_configs(const std::string& name, const std::vector<Property>& sets,
                                            const std::vector<std::string>& deletes, bool validate_only) {
  ConfigResource res(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, name.c_str()));
  auto add = [&](const std::string& key, rd_kafka_AlterConfigOpType_t op, const char* value) {
    if (rd_kafka_error_t* e = rd_kafka_ConfigResource_add_incremental_config(res.get(), key.c_str(), op, value)) {
      const std::string why = rd_kafka_error_string(e);
      rd_kafka_error_destroy(e);
      throw UsageError("cannot change topic config '" + key + "': " + why);
    }
  };
  for (const auto& [k, v] : sets) add(k, RD_KAFKA_ALTER_CONFIG_OP_TYPE_SET, v.c_str());
  for (const std::string& k : deletes) add(k, RD_KAFKA_ALTER_CONFIG_OP_TYPE_DELETE, nullptr);
  rd_kafka_ConfigResource_t* arr[] = {res.get()};
  const std::string what = std::string(validate_only ? "the validation of" : "the change of") +
                           " the configuration of topic '" + name + "'";
  const Event ev = request(
      *this, RD_KAFKA_ADMIN_OP_INCREMENTALALTERCONFIGS, what,
      [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
        rd_kafka_IncrementalAlterConfigs(rk, arr, 1, o, q);
      },
      validate_only);
  size_t n = 0;
  const rd_kafka_ConfigResource_t** rs = rd_kafka_IncrementalAlterConfigs_result_resources(rd_kafka_event_IncrementalAlterConfigs_result(ev.get()), &n);
  const rd_kafka_ConfigResource_t* r = first_result(rs, n, "IncrementalAlterConfigs", name);
  const rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(r);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) throw NoInputError(missing_topic_message(config(), name));
  if (timed_out(err)) throw UnavailableError(unreachable_message(what));
  throw Error(Exit::failure, "the broker refused to change the configuration of topic '" + name + "': " +
                                 reason(err, rd_kafka_ConfigResource_error_string(r)));
}

void Admin::create_partitions(const std::string& name, int total, bool validate_only) {
  char errstr[512];
  rd_kafka_NewPartitions_t* np = rd_kafka_NewPartitions_new(name.c_str(), static_cast<size_t>(total), errstr, sizeof errstr);
  if (!np) throw UsageError("cannot add partitions to topic '" + name + "': " + errstr);
  std::unique_ptr<rd_kafka_NewPartitions_t, void (*)(rd_kafka_NewPartitions_t*)> guard(np, rd_kafka_NewPartitions_destroy);
  const std::string what = "the new partitions of topic '" + name + "'";
  const Event ev = request(
      *this, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, what,
      [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) { rd_kafka_CreatePartitions(rk, &np, 1, o, q); },
      validate_only);
  size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev.get()), &n);
  const rd_kafka_topic_result_t* res = first_result(results, n, "CreatePartitions", name);
  const rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res);
  if (err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) throw NoInputError(missing_topic_message(config(), name));
  if (timed_out(err)) throw UnavailableError(unreachable_message(what));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
    throw Error(Exit::failure, "the broker refused to add partitions to topic '" + name + "': " +
                                   reason(err, rd_kafka_topic_result_error_string(res)));
  if (!validate_only && !wait_until_ready(name, total))
    // Not a plain "cannot reach": the partitions exist now, and --num counts from the current
    // number, so running the command again would add more.
    throw UnavailableError("the partitions of topic '" + name + "' were added (it has " + std::to_string(total) +
                           " now) but not all of them had a leader that answers within " + seconds_text(config().timeout) +
                           " s (do not add them again; sfcrime topic describe " + name + " shows the leaders)");
}

// --- consumer groups ------------------------------------------------------------------------------

std::vector<Admin::GroupListing> Admin::list_groups() {
  const std::string what = "the list of consumer groups";
  const Event ev = request(*this, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, what,
                           [](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                             rd_kafka_ListConsumerGroups(rk, o, q);
                           });
  const rd_kafka_ListConsumerGroups_result_t* result = rd_kafka_event_ListConsumerGroups_result(ev.get());
  size_t ne = 0;
  const rd_kafka_error_t** errors = rd_kafka_ListConsumerGroups_result_errors(result, &ne);
  // One error per broker that did not answer: the list would be incomplete, so it is an error.
  if (ne > 0) {
    const rd_kafka_resp_err_t err = rd_kafka_error_code(errors[0]);
    if (timed_out(err)) throw UnavailableError(unreachable_message(what));
    throw UnavailableError("cannot list the consumer groups of every broker: " +
                           reason(err, rd_kafka_error_string(errors[0])));
  }
  size_t n = 0;
  const rd_kafka_ConsumerGroupListing_t** groups = rd_kafka_ListConsumerGroups_result_valid(result, &n);
  std::vector<GroupListing> out;
  for (size_t i = 0; i < n; ++i) {
    GroupListing g;
    g.id = rd_kafka_ConsumerGroupListing_group_id(groups[i]);
    g.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupListing_state(groups[i]));
    g.simple = rd_kafka_ConsumerGroupListing_is_simple_consumer_group(groups[i]) == 1;
    out.push_back(std::move(g));
  }
  std::sort(out.begin(), out.end(), [](const GroupListing& a, const GroupListing& b) { return a.id < b.id; });
  return out;
}

std::vector<Admin::GroupDescription> Admin::describe_groups(const std::vector<std::string>& ids) {
  std::vector<const char*> names;
  for (const auto& id : ids) names.push_back(id.c_str());
  const std::string what = ids.size() == 1 ? "the description of consumer group '" + ids[0] + "'"
                                            : "the description of " + std::to_string(ids.size()) + " consumer groups";
  const Event ev = request(*this, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, what,
                           [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                             rd_kafka_DescribeConsumerGroups(rk, names.data(), names.size(), o, q);
                           });
  size_t n = 0;
  const rd_kafka_ConsumerGroupDescription_t** gs =
      rd_kafka_DescribeConsumerGroups_result_groups(rd_kafka_event_DescribeConsumerGroups_result(ev.get()), &n);
  std::vector<GroupDescription> out;
  for (const auto& id : ids) {
    const rd_kafka_ConsumerGroupDescription_t* d = nullptr;
    for (size_t i = 0; i < n && !d; ++i)
      if (id == rd_kafka_ConsumerGroupDescription_group_id(gs[i])) d = gs[i];
    if (!d) throw Error(Exit::software, "DescribeConsumerGroups returned no result for '" + id + "'");
    GroupDescription g;
    g.id = id;
    if (const rd_kafka_error_t* e = rd_kafka_ConsumerGroupDescription_error(d)) {
      const rd_kafka_resp_err_t err = rd_kafka_error_code(e);
      if (err == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) {
        g.state = "Dead";
        out.push_back(std::move(g));
        continue;
      }
      if (timed_out(err) || err == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE)
        throw UnavailableError(unreachable_message("the coordinator of consumer group '" + id + "'") + " (" +
                               reason(err, rd_kafka_error_string(e)) + ")");
      throw Error(Exit::failure, "the broker refused to describe consumer group '" + id + "': " +
                                     reason(err, rd_kafka_error_string(e)));
    }
    g.state = rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(d));
    if (const char* a = rd_kafka_ConsumerGroupDescription_partition_assignor(d)) g.assignor = a;
    g.simple = rd_kafka_ConsumerGroupDescription_is_simple_consumer_group(d) == 1;
    if (const rd_kafka_Node_t* c = rd_kafka_ConsumerGroupDescription_coordinator(d)) {
      g.coordinator = rd_kafka_Node_id(c);
      g.coordinator_host = std::string(rd_kafka_Node_host(c)) + ":" + std::to_string(rd_kafka_Node_port(c));
    }
    const size_t members = rd_kafka_ConsumerGroupDescription_member_count(d);
    for (size_t m = 0; m < members; ++m) {
      const rd_kafka_MemberDescription_t* md = rd_kafka_ConsumerGroupDescription_member(d, m);
      GroupMember gm;
      if (const char* s = rd_kafka_MemberDescription_consumer_id(md)) gm.member_id = s;
      if (const char* s = rd_kafka_MemberDescription_group_instance_id(md)) gm.instance_id = s;
      if (const char* s = rd_kafka_MemberDescription_client_id(md)) gm.client_id = s;
      if (const char* s = rd_kafka_MemberDescription_host(md)) gm.host = s;
      if (const rd_kafka_MemberAssignment_t* a = rd_kafka_MemberDescription_assignment(md)) {
        if (const rd_kafka_topic_partition_list_t* l = rd_kafka_MemberAssignment_partitions(a))
          for (int i = 0; i < l->cnt; ++i) gm.assignment.emplace_back(l->elems[i].topic, l->elems[i].partition);
      }
      g.members.push_back(std::move(gm));
    }
    out.push_back(std::move(g));
  }
  return out;
}

namespace {
// Throws for the error of a group result of ListConsumerGroupOffsets / AlterConsumerGroupOffsets /
// DeleteGroups: `doing` is e.g. "delete consumer group 'g'".
void throw_group_error(const Admin& admin, const rd_kafka_error_t* e, const std::string& id, const std::string& doing,
                       const std::string& waited_for) {
  const rd_kafka_resp_err_t err = rd_kafka_error_code(e);
  if (err == RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND) throw NoInputError(missing_group_message(admin.config(), id));
  if (timed_out(err) || err == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE)
    throw UnavailableError(admin.unreachable_message(waited_for) + " (" + reason(err, rd_kafka_error_string(e)) + ")");
  if (err == RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP)
    throw Error(Exit::failure, "cannot " + doing + ": it has members (" + reason(err, rd_kafka_error_string(e)) +
                                   "); stop its consumers first, sfcrime group describe " + id + " lists them");
  throw Error(Exit::failure, "the broker refused to " + doing + ": " + reason(err, rd_kafka_error_string(e)));
}
}  // namespace

std::vector<Admin::CommittedOffset> Admin::committed_offsets(const std::string& id) {
  // No partition list: every partition the group has an offset for.
  rd_kafka_ListConsumerGroupOffsets_t* req = rd_kafka_ListConsumerGroupOffsets_new(id.c_str(), nullptr);
  std::unique_ptr<rd_kafka_ListConsumerGroupOffsets_t, void (*)(rd_kafka_ListConsumerGroupOffsets_t*)> guard(
      req, rd_kafka_ListConsumerGroupOffsets_destroy);
  const std::string what = "the committed offsets of consumer group '" + id + "'";
  const Event ev = request(*this, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, what,
                           [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                             rd_kafka_ListConsumerGroupOffsets(rk, &req, 1, o, q);
                           });
  size_t n = 0;
  const rd_kafka_group_result_t** gs = rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(ev.get()), &n);
  const rd_kafka_group_result_t* g = first_result(gs, n, "ListConsumerGroupOffsets", id);
  if (const rd_kafka_error_t* e = rd_kafka_group_result_error(g))
    throw_group_error(*this, e, id, "list the offsets of consumer group '" + id + "'", what);
  std::vector<CommittedOffset> out;
  if (const rd_kafka_topic_partition_list_t* l = rd_kafka_group_result_partitions(g)) {
    for (int i = 0; i < l->cnt; ++i) {
      const auto& p = l->elems[i];
      if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR)
        throw Error(Exit::failure, "cannot read the committed offset of consumer group '" + id + "' for '" +
                                       p.topic + "' partition " + std::to_string(p.partition) + ": " +
                                       reason(p.err, nullptr));
      if (p.offset < 0) continue;  // nothing committed
      out.push_back({p.topic, p.partition, p.offset});
    }
  }
  std::sort(out.begin(), out.end(), [](const CommittedOffset& a, const CommittedOffset& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  });
  return out;
}

void Admin::alter_committed_offsets(const std::string& id, const std::vector<CommittedOffset>& offsets) {
  const PartitionList list = partition_list(offsets);
  rd_kafka_AlterConsumerGroupOffsets_t* req = rd_kafka_AlterConsumerGroupOffsets_new(id.c_str(), list.get());
  std::unique_ptr<rd_kafka_AlterConsumerGroupOffsets_t, void (*)(rd_kafka_AlterConsumerGroupOffsets_t*)> guard(
      req, rd_kafka_AlterConsumerGroupOffsets_destroy);
  const std::string what = "the new offsets of consumer group '" + id + "'";
  const Event ev = request(*this, RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, what,
                           [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                             rd_kafka_AlterConsumerGroupOffsets(rk, &req, 1, o, q);
                           });
  size_t n = 0;
  const rd_kafka_group_result_t** gs = rd_kafka_AlterConsumerGroupOffsets_result_groups(rd_kafka_event_AlterConsumerGroupOffsets_result(ev.get()), &n);
  const rd_kafka_group_result_t* g = first_result(gs, n, "AlterConsumerGroupOffsets", id);
  const std::string doing = "set the offsets of consumer group '" + id + "'";
  if (const rd_kafka_error_t* e = rd_kafka_group_result_error(g)) throw_group_error(*this, e, id, doing, what);
  if (const rd_kafka_topic_partition_list_t* l = rd_kafka_group_result_partitions(g)) {
    for (int i = 0; i < l->cnt; ++i) {
      const auto& p = l->elems[i];
      if (p.err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      const std::string where = "'" + std::string(p.topic) + "' partition " + std::to_string(p.partition);
      // The broker answers UNKNOWN_MEMBER_ID to a commit from outside a group that has members.
      if (p.err == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID)
        throw Error(Exit::failure, "cannot " + doing + " for " + where + ": the group has members (" +
                                       reason(p.err, nullptr) + "); stop its consumers first");
      throw Error(Exit::failure, "the broker refused to " + doing + " for " + where + ": " + reason(p.err, nullptr));
    }
  }
}

void Admin::delete_group(const std::string& id) {
  rd_kafka_DeleteGroup_t* dg = rd_kafka_DeleteGroup_new(id.c_str());
  std::unique_ptr<rd_kafka_DeleteGroup_t, void (*)(rd_kafka_DeleteGroup_t*)> guard(dg, rd_kafka_DeleteGroup_destroy);
  const std::string what = "the deletion of consumer group '" + id + "'";
  const Event ev = request(*this, RD_KAFKA_ADMIN_OP_DELETEGROUPS, what,
                           [&](rd_kafka_t* rk, const rd_kafka_AdminOptions_t* o, rd_kafka_queue_t* q) {
                             rd_kafka_DeleteGroups(rk, &dg, 1, o, q);
                           });
  size_t n = 0;
  const rd_kafka_group_result_t** gs = rd_kafka_DeleteGroups_result_groups(rd_kafka_event_DeleteGroups_result(ev.get()), &n);
  const rd_kafka_group_result_t* g = first_result(gs, n, "DeleteGroups", id);
  if (const rd_kafka_error_t* e = rd_kafka_group_result_error(g))
    throw_group_error(*this, e, id, "delete consumer group '" + id + "'", what);
}

std::int64_t Admin::offset_for_time(const std::string& topic, std::int32_t partition, std::int64_t timestamp_ms) {
  const std::int64_t o = offsets_for_time(topic, {partition}, timestamp_ms).front();
  // -1: no record at or after the time; the group then starts at the end.
  return o >= 0 ? o : watermarks(topic, partition).high;
}

}  // namespace sfcrime::kafka
