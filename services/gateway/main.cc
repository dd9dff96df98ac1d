// aigw-gateway: the completion pipeline (aigw.v1.ChatService).

#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <random>

#include "absl/flags/flag.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "libs/auth/auth_policy.h"
#include "libs/auth/server_auth.h"
#include "libs/auth/token_source.h"
#include "libs/http/host_allowlist.h"
#include "libs/providers/parse_limits.h"
#include "libs/server/peer_channel.h"
#include "libs/server/service_main.h"
#include "services/gateway/allotment_key_leaser.h"
#include "services/gateway/chat_service.h"
#include "services/gateway/event_sink.h"
#include "services/gateway/prefetching_key_leaser.h"
#include "libs/common/logging.h"

ABSL_FLAG(std::string, keypool_addr, "localhost:50052",
          "KeyPool service: one gRPC target resolving to every replica "
          "(dns:///aigw-keypool-headless:50052) or host:port,host:port [env AIGW_KEYPOOL_ADDR]");
ABSL_FLAG(std::string, usage_addr, "localhost:50053", "Usage service [env AIGW_USAGE_ADDR]");
ABSL_FLAG(absl::Duration, catalogue_refresh, absl::Seconds(10),
          "How often providers and models are re-read from the database "
          "[env AIGW_CATALOGUE_REFRESH]");
ABSL_FLAG(absl::Duration, upstream_timeout, absl::Seconds(120),
          "One upstream attempt, unary [env AIGW_UPSTREAM_TIMEOUT]");
ABSL_FLAG(absl::Duration, stream_idle_timeout, absl::Seconds(60),
          "A stream silent this long is cut [env AIGW_STREAM_IDLE_TIMEOUT]");
ABSL_FLAG(absl::Duration, keypool_timeout, absl::Seconds(2), "Deadline of a LeaseKey call to the keypool");
ABSL_FLAG(absl::Duration, keypool_handover_wait, absl::Seconds(2),
          "While a keypool answered less than this ago, a lease that finds none serving waits "
          "for the standby to take over (within --keypool_timeout) instead of failing; 0 = "
          "always fail at once");
ABSL_FLAG(absl::Duration, keypool_allotment_refresh, absl::Seconds(15),
          "How often the gateway asks the keypool for its allotments, the share of each key it "
          "may spend on its own while no keypool answers (0: none asked, calls fail at once "
          "then) [env AIGW_KEYPOOL_ALLOTMENT_REFRESH]");
ABSL_FLAG(absl::Duration, keypool_report_delay, absl::Milliseconds(5),
          "Reports to the keypool are gathered this long into one ReportUsageBatch (0: each "
          "goes at once)");
ABSL_FLAG(int, lease_prefetch, 64,
          "Leases kept ready per provider so calls skip the keypool round trip (at most 64; "
          "0: off) [env AIGW_LEASE_PREFETCH]");
ABSL_FLAG(absl::Duration, lease_prefetch_ttl, absl::Seconds(2),
          "A ready lease unused this long goes back to the keypool");
ABSL_FLAG(int, retry_max_attempts, 4,
          "Upstream attempts per target before the next fallback [env AIGW_RETRY_MAX_ATTEMPTS]");
ABSL_FLAG(absl::Duration, retry_initial_backoff, absl::Seconds(1),
          "First retry delay; doubles each retry [env AIGW_RETRY_INITIAL_BACKOFF]");
ABSL_FLAG(absl::Duration, retry_max_backoff, absl::Seconds(10),
          "Retry delay cap [env AIGW_RETRY_MAX_BACKOFF]");
ABSL_FLAG(double, retry_jitter, 0.2, "Retry delays vary by +/- this fraction");
ABSL_FLAG(absl::Duration, max_retry_after, absl::Seconds(30),
          "A provider Retry-After longer than this moves to the next fallback instead");
ABSL_FLAG(std::string, spool_dir, "var/spool",
          "Where undeliverable call events wait for the usage service [env AIGW_SPOOL_DIR]");
ABSL_FLAG(int, event_batch_size, 1000, "Call events per RecordCalls batch (the usage service takes up to 5000)");
ABSL_FLAG(int64_t, event_batch_max_bytes, int64_t{3} << 20,
          "Serialized bytes per RecordCalls batch; keep it under the usage service's gRPC "
          "receive limit (4 MiB) [env AIGW_EVENT_BATCH_MAX_BYTES]");
ABSL_FLAG(absl::Duration, event_flush_interval, absl::Milliseconds(200),
          "Longest a call event waits in memory before it is sent");
ABSL_FLAG(int, upstream_buffer_bytes, 2048,
          "libcurl receive buffer per upstream call in flight (libcurl's default is 16384)");
ABSL_FLAG(std::string, upstream_ca_file, "",
          "PEM file of CA certificates to trust for https providers instead of the system's "
          "(a private CA, a TLS-inspecting proxy) [env AIGW_UPSTREAM_CA_FILE]");
ABSL_FLAG(int, upstream_max_host_connections, 0,
          "Connections per provider host (0: no limit); on an HTTP/1.1 host it also caps the "
          "calls in flight there. HTTP/2 bursts need no cap: calls beyond a connection's "
          "streams wait for the next connection");
ABSL_FLAG(absl::Duration, upstream_busy_poll, absl::Microseconds(50),
          "With few upstream calls in flight, poll for their answers this long before sleeping "
          "(lower latency for a little CPU; 0: off)");
ABSL_FLAG(absl::Duration, upstream_idle_poll, absl::Microseconds(300),
          "With no upstream call in flight, keep polling this long before sleeping, so the next "
          "call's hand-off finds the loop awake (lower latency for a little CPU; 0: off)");
ABSL_FLAG(std::string, provider_host_allowlist, "",
          "Comma-separated hosts chat requests may go to (\"api.openai.com,*.example.com\"); a "
          "provider whose base_url names another host is refused (FAILED_PRECONDITION) without "
          "sending anything; empty: any host [env AIGW_PROVIDER_HOST_ALLOWLIST]");
ABSL_FLAG(int64_t, max_request_bytes, 1 << 20, "Text per chat request [env AIGW_MAX_REQUEST_BYTES]");
ABSL_FLAG(int32_t, max_tools, 128, "Tools per chat request [env AIGW_MAX_TOOLS]");
ABSL_FLAG(int32_t, max_images, 20, "Image parts per chat request [env AIGW_MAX_IMAGES]");
ABSL_FLAG(int64_t, max_image_bytes, 5 << 20,
          "One data: URL image, decoded [env AIGW_MAX_IMAGE_BYTES]");
ABSL_FLAG(int64_t, max_upstream_body_bytes, 8 << 20,
          "A provider's answer or error body, and one server-sent event of a stream, may be this "
          "long; a longer one fails the attempt (not retried) [env AIGW_MAX_UPSTREAM_BODY_BYTES]");
ABSL_FLAG(int64_t, max_upstream_header_bytes, 64 << 10,
          "A provider's status line and headers may be this long "
          "[env AIGW_MAX_UPSTREAM_HEADER_BYTES]");
ABSL_FLAG(int, max_upstream_json_depth, 64,
          "JSON from a provider nested deeper than this is refused [env AIGW_MAX_UPSTREAM_JSON_DEPTH]");
ABSL_FLAG(int64_t, max_stream_content_bytes, 4 << 20,
          "A stream is ended (RESOURCE_EXHAUSTED) once its content would pass this many bytes "
          "(0: no limit) [env AIGW_MAX_STREAM_CONTENT_BYTES]");
ABSL_FLAG(absl::Duration, max_stream_duration, absl::Minutes(10),
          "A stream is ended (DEADLINE_EXCEEDED) this long after the call began, whatever the "
          "client's deadline (0: no limit) [env AIGW_MAX_STREAM_DURATION]");
ABSL_FLAG(int64_t, stream_max_queued_bytes, 1 << 20,
          "Content of a stream waiting for a client that reads slower than the provider sends; "
          "more ends the call (RESOURCE_EXHAUSTED) and its upstream transfer (0: no limit) "
          "[env AIGW_STREAM_MAX_QUEUED_BYTES]");

namespace aigw::gateway {
namespace {

// Everything the gateway runs, owned together and stopped in order.
struct Gateway {
  std::unique_ptr<http::HttpEngine> engine;
  std::unique_ptr<CatalogueCache> catalogue;
  std::unique_ptr<GatewayMetrics> metrics;
  std::unique_ptr<KeyLeaser> grpc_leaser;
  // In front of grpc_leaser (declared after it, so destroyed first).
  std::unique_ptr<PrefetchingKeyLeaser> leaser;
  // In front of leaser: allotments while no keypool answers (may be null).
  std::unique_ptr<AllotmentKeyLeaser> allotting;
  std::unique_ptr<EventSpool> spool;
  std::unique_ptr<EventUploader> uploader;
  std::unique_ptr<BatchingEventSink> events;
  std::shared_ptr<auth::TokenSource> token;
  http::HostAllowlist provider_hosts;
  PipelineContext pipeline;

  void Stop() {
    // The gRPC server has drained: no new calls. Let in-flight upstream
    // transfers end, then flush every call event to usage or the spool.
    engine->Shutdown();
    // Allotments go back so the keypool stops holding them back.
    if (allotting != nullptr) allotting->GiveBack();
    leaser->ReleaseAll();
    events->Stop();
    catalogue->Stop();
  }
};

// The bounds on what a provider may send; checked here so that a typo fails
// the start instead of disabling a bound.
absl::Status CheckUpstreamBounds() {
  if (absl::GetFlag(FLAGS_max_upstream_body_bytes) < 1024) {
    return absl::InvalidArgumentError("--max_upstream_body_bytes must be at least 1024");
  }
  if (absl::GetFlag(FLAGS_max_upstream_header_bytes) < 1024) {
    return absl::InvalidArgumentError("--max_upstream_header_bytes must be at least 1024");
  }
  const int depth = absl::GetFlag(FLAGS_max_upstream_json_depth);
  if (depth < 8 || depth > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_upstream_json_depth must be between 8 and 1000 (got ", depth, ")"));
  }
  if (absl::GetFlag(FLAGS_max_stream_content_bytes) < 0 ||
      absl::GetFlag(FLAGS_max_stream_duration) < absl::ZeroDuration() ||
      absl::GetFlag(FLAGS_stream_max_queued_bytes) < 0) {
    return absl::InvalidArgumentError(
        "--max_stream_content_bytes, --max_stream_duration and --stream_max_queued_bytes must "
        "not be negative (0: no limit)");
  }
  return absl::OkStatus();
}

// The upstream side: parse bounds, allowed provider hosts, the HTTP engine.
absl::Status StartUpstream(Gateway& g) {
  if (absl::Status st = CheckUpstreamBounds(); !st.ok()) return st;
  providers::ParseLimits parse_limits;
  parse_limits.max_json_depth = absl::GetFlag(FLAGS_max_upstream_json_depth);
  parse_limits.max_sse_event_bytes =
      static_cast<size_t>(absl::GetFlag(FLAGS_max_upstream_body_bytes));
  providers::SetParseLimits(parse_limits);
  absl::StatusOr<http::HostAllowlist> provider_hosts =
      http::HostAllowlist::Parse(absl::GetFlag(FLAGS_provider_host_allowlist));
  if (!provider_hosts.ok()) return provider_hosts.status();
  g.provider_hosts = *std::move(provider_hosts);
  if (!g.provider_hosts.empty()) {
    spdlog::info("msg=\"provider hosts allowed\" hosts=\"{}\"", g.provider_hosts.ToString());
  }
  http::HttpEngine::Options engine_options;
  engine_options.max_body_bytes = absl::GetFlag(FLAGS_max_upstream_body_bytes);
  engine_options.max_header_bytes = absl::GetFlag(FLAGS_max_upstream_header_bytes);
  engine_options.receive_buffer_bytes = absl::GetFlag(FLAGS_upstream_buffer_bytes);
  engine_options.busy_poll = absl::GetFlag(FLAGS_upstream_busy_poll);
  engine_options.idle_poll = absl::GetFlag(FLAGS_upstream_idle_poll);
  engine_options.max_host_connections = absl::GetFlag(FLAGS_upstream_max_host_connections);
  engine_options.ca_file = absl::GetFlag(FLAGS_upstream_ca_file);
  absl::StatusOr<std::unique_ptr<http::HttpEngine>> engine =
      http::HttpEngine::Create(engine_options);
  if (!engine.ok()) return engine.status();
  g.engine = std::move(*engine);
  return absl::OkStatus();
}

using Authorization = std::function<std::string()>;

// This process in the keypool's allotments: host (the pod's name), pid and
// a random tag, so a restarted gateway never claims its predecessor's.
std::string GatewayHolderName() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    snprintf(host, sizeof(host), "gateway");
  }
  std::random_device rd;
  return absl::StrCat(host, "-", getpid(), "-", absl::Hex(rd() & 0xffffff, absl::kZeroPad6));
}

// Allotments in front of the leaser, unless turned off.
absl::Status StartAllotments(Gateway& g, GrpcKeyLeaser* grpc) {
  const absl::Duration refresh = absl::GetFlag(FLAGS_keypool_allotment_refresh);
  if (refresh < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--keypool_allotment_refresh must be zero (off) or more");
  }
  if (refresh == absl::ZeroDuration()) return absl::OkStatus();
  AllotmentKeyLeaser::Options options;
  options.holder = GatewayHolderName();
  options.refresh_interval = refresh;
  options.served = &g.metrics->leases_from_allotment();
  options.refused = &g.metrics->allotment_refusals();
  options.refreshed = &g.metrics->allotment_refreshes("ok");
  options.refresh_failed = &g.metrics->allotment_refreshes("failed");
  options.seconds_without_keypool = &g.metrics->seconds_without_keypool();
  g.allotting = std::make_unique<AllotmentKeyLeaser>(
      g.leaser.get(),
      [grpc](const aigw::v1::AllotKeysRequest& request) { return grpc->AllotKeys(request); },
      Clock::Real(), std::move(options));
  return absl::OkStatus();
}

// Keys from the keypool, through a stock of prefetched leases.
absl::Status StartLeaser(Gateway& g, const Authorization& authorization) {
  auto grpc_leaser = std::make_unique<GrpcKeyLeaser>(
      // Every keypool replica; calls go to the active one (health name
      // aigw.v1.KeyPool SERVING), following a takeover at once.
      server::CreateReplicatedPeerChannel(absl::GetFlag(FLAGS_keypool_addr), "aigw.v1.KeyPool"),
      absl::GetFlag(FLAGS_keypool_timeout), authorization,
      absl::GetFlag(FLAGS_keypool_report_delay));
  grpc_leaser->set_handover_wait(absl::GetFlag(FLAGS_keypool_handover_wait));
  GrpcKeyLeaser* grpc = grpc_leaser.get();
  g.grpc_leaser = std::move(grpc_leaser);
  PrefetchingKeyLeaser::Options prefetch;
  prefetch.max_stock = absl::GetFlag(FLAGS_lease_prefetch);
  prefetch.ttl = absl::GetFlag(FLAGS_lease_prefetch_ttl);
  prefetch.from_stock = &g.metrics->leases_from_stock();
  prefetch.from_keypool = &g.metrics->leases_from_keypool();
  if (prefetch.max_stock < 0 || prefetch.max_stock > PrefetchingKeyLeaser::kMaxStock) {
    return absl::InvalidArgumentError(
        absl::StrCat("--lease_prefetch must be between 0 and ", PrefetchingKeyLeaser::kMaxStock,
                     " (got ", prefetch.max_stock, ")"));
  }
  if (prefetch.ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--lease_prefetch_ttl must be positive");
  }
  g.leaser = std::make_unique<PrefetchingKeyLeaser>(g.grpc_leaser.get(), Clock::Real(), prefetch);
  return StartAllotments(g, grpc);
}

// The sink's counts in the gateway's metrics.
void ObserveEvents(BatchingEventSink& events, GatewayMetrics* metrics) {
  events.set_observer([metrics](const EventSinkStats& s) {
    metrics->queue_depth().Set(static_cast<double>(s.queued));
    metrics->spool_events().Set(static_cast<double>(s.spooled));
    metrics->spool_bytes().Set(static_cast<double>(s.spooled_bytes));
    // The sink counts; the counters follow it.
    for (const auto& [counter, count] :
         {std::pair<prometheus::Counter*, int64_t>{&metrics->events_delivered(), s.delivered},
          {&metrics->events_rejected(), s.rejected},
          {&metrics->events_cleaned(), s.cleaned},
          {&metrics->spool_unreadable_bytes(), s.unreadable_bytes}}) {
      if (const double d = static_cast<double>(count) - counter->Value(); d > 0) {
        counter->Increment(d);
      }
    }
  });
}

// Call events to usage, through the spool on disk.
absl::Status StartEvents(Gateway& g, const Authorization& authorization) {
  const std::string spool_path = absl::StrCat(absl::GetFlag(FLAGS_spool_dir), "/call-events.spool");
  absl::StatusOr<std::unique_ptr<EventSpool>> spool = EventSpool::Open(spool_path);
  if (!spool.ok()) return spool.status();
  g.spool = std::move(*spool);
  if (g.spool->events() > 0) {
    spdlog::info("msg=\"call events waiting in the spool\" events={} path=\"{}\"",
                 g.spool->events(), spool_path);
  }
  g.uploader = std::make_unique<GrpcEventUploader>(
      server::CreatePeerChannel(absl::GetFlag(FLAGS_usage_addr)),
      absl::Seconds(10), authorization);
  BatchingEventSink::Options sink_options;
  sink_options.batch_size = static_cast<size_t>(absl::GetFlag(FLAGS_event_batch_size));
  if (absl::GetFlag(FLAGS_event_batch_max_bytes) < 1024) {
    return absl::InvalidArgumentError("--event_batch_max_bytes must be at least 1024");
  }
  sink_options.max_batch_bytes = static_cast<size_t>(absl::GetFlag(FLAGS_event_batch_max_bytes));
  sink_options.flush_interval = absl::GetFlag(FLAGS_event_flush_interval);
  g.events = std::make_unique<BatchingEventSink>(sink_options, g.uploader.get(), g.spool.get());
  ObserveEvents(*g.events, g.metrics.get());
  g.events->Start();
  return absl::OkStatus();
}

// What every completion call runs with.
void FillPipeline(Gateway& g) {
  PipelineContext& p = g.pipeline;
  p.engine = g.engine.get();
  p.leaser = g.allotting != nullptr ? static_cast<KeyLeaser*>(g.allotting.get())
                                     : static_cast<KeyLeaser*>(g.leaser.get());
  p.events = g.events.get();
  p.metrics = g.metrics.get();
  p.retry.max_attempts_per_target = absl::GetFlag(FLAGS_retry_max_attempts);
  p.retry.initial_backoff = absl::GetFlag(FLAGS_retry_initial_backoff);
  p.retry.max_backoff = absl::GetFlag(FLAGS_retry_max_backoff);
  p.retry.jitter = absl::GetFlag(FLAGS_retry_jitter);
  p.retry.max_retry_after = absl::GetFlag(FLAGS_max_retry_after);
  p.upstream_timeout = absl::GetFlag(FLAGS_upstream_timeout);
  p.stream_idle_timeout = absl::GetFlag(FLAGS_stream_idle_timeout);
  p.max_stream_duration = absl::GetFlag(FLAGS_max_stream_duration);
  p.max_stream_content_bytes = absl::GetFlag(FLAGS_max_stream_content_bytes);
  p.provider_hosts = &g.provider_hosts;
  http::HttpEngine* e = g.engine.get();
  p.schedule = [e](absl::Duration delay, std::function<void()> fn) {
    e->RunAfter(delay, std::move(fn));
  };
  p.random = [] {
    thread_local absl::BitGen gen;
    return absl::Uniform<double>(gen, 0.0, 1.0);
  };
}

absl::StatusOr<server::ServiceParts> Build(server::ServiceContext& ctx) {
  auto g = std::make_shared<Gateway>();
  if (absl::Status st = StartUpstream(*g); !st.ok()) return st;
  g->catalogue = std::make_unique<CatalogueCache>(ctx.db, absl::GetFlag(FLAGS_catalogue_refresh));
  if (absl::Status st = g->catalogue->Start(); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat("loading providers and models: ", st.message()));
  }
  g->metrics = std::make_unique<GatewayMetrics>(*ctx.metrics);
  // The gateway's own calls to keypool and usage carry a `service` token.
  g->token = ctx.auth->NewTokenSource(auth::kRoleService, "aigw-gateway");
  auth::TokenSource* token = g->token.get();
  const Authorization authorization = [token] { return token->AuthorizationHeader(); };
  if (absl::Status st = StartLeaser(*g, authorization); !st.ok()) return st;
  if (absl::Status st = StartEvents(*g, authorization); !st.ok()) return st;
  FillPipeline(*g);

  ChatServiceOptions options;
  options.limits.max_request_bytes = absl::GetFlag(FLAGS_max_request_bytes);
  options.limits.max_tools = absl::GetFlag(FLAGS_max_tools);
  options.limits.max_images = absl::GetFlag(FLAGS_max_images);
  options.limits.max_image_bytes = absl::GetFlag(FLAGS_max_image_bytes);
  options.max_queued_bytes = absl::GetFlag(FLAGS_stream_max_queued_bytes);
  // A request that names no user is recorded under its token's subject.
  auth::ServerAuth* server_auth = ctx.auth;
  options.caller_subject = [server_auth](const grpc::CallbackServerContext& call) {
    return server_auth->CallerSubject(call);
  };
  server::ServiceParts parts;
  parts.services.push_back(
      std::make_unique<ChatServiceImpl>(&g->pipeline, g->catalogue.get(), options));
  parts.on_shutdown = [g] { g->Stop(); };
  parts.keep_alive.push_back(g);
  return parts;
}

}  // namespace
}  // namespace aigw::gateway

int main(int argc, char** argv) {
  // glibc gives each thread that contends for malloc its own arena (up to 8
  // per core). With 10k calls in flight, memory freed by one gRPC thread is
  // idle in its arena while another thread grows its own: ~100 MB of RSS at
  // 10k slow calls. Two arenas cost no measurable throughput on this load.
  // MALLOC_ARENA_MAX in the environment still wins.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
  aigw::server::ServiceSpec spec{
      .name = "gateway",
      .default_grpc_port = 50051,
      .default_metrics_port = 9101,
      .env_flags = {{"keypool_addr", "AIGW_KEYPOOL_ADDR"},
                    {"usage_addr", "AIGW_USAGE_ADDR"},
                    {"catalogue_refresh", "AIGW_CATALOGUE_REFRESH"},
                    {"upstream_timeout", "AIGW_UPSTREAM_TIMEOUT"},
                    {"stream_idle_timeout", "AIGW_STREAM_IDLE_TIMEOUT"},
                    {"retry_max_attempts", "AIGW_RETRY_MAX_ATTEMPTS"},
                    {"lease_prefetch", "AIGW_LEASE_PREFETCH"},
                    {"keypool_allotment_refresh", "AIGW_KEYPOOL_ALLOTMENT_REFRESH"},
                    {"retry_initial_backoff", "AIGW_RETRY_INITIAL_BACKOFF"},
                    {"retry_max_backoff", "AIGW_RETRY_MAX_BACKOFF"},
                    {"spool_dir", "AIGW_SPOOL_DIR"},
                    {"event_batch_max_bytes", "AIGW_EVENT_BATCH_MAX_BYTES"},
                    {"upstream_ca_file", "AIGW_UPSTREAM_CA_FILE"},
                    {"max_request_bytes", "AIGW_MAX_REQUEST_BYTES"},
                    {"max_tools", "AIGW_MAX_TOOLS"},
                    {"max_images", "AIGW_MAX_IMAGES"},
                    {"max_image_bytes", "AIGW_MAX_IMAGE_BYTES"},
                    {"max_upstream_body_bytes", "AIGW_MAX_UPSTREAM_BODY_BYTES"},
                    {"max_upstream_header_bytes", "AIGW_MAX_UPSTREAM_HEADER_BYTES"},
                    {"max_upstream_json_depth", "AIGW_MAX_UPSTREAM_JSON_DEPTH"},
                    {"max_stream_content_bytes", "AIGW_MAX_STREAM_CONTENT_BYTES"},
                    {"max_stream_duration", "AIGW_MAX_STREAM_DURATION"},
                    {"stream_max_queued_bytes", "AIGW_STREAM_MAX_QUEUED_BYTES"},
                    {"provider_host_allowlist", "AIGW_PROVIDER_HOST_ALLOWLIST"}},
      // The catalogue is cached and call events spool: ready without the database.
      .database_bound_services = {}};
  return aigw::server::RunServiceMain(spec, argc, argv, &aigw::gateway::Build);
}
