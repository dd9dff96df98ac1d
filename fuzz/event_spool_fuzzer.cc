// The gateway's event spool (services/gateway/event_spool) opening a file of
// arbitrary bytes, as a crash, a full disk, bit rot or an older gateway (the
// first format, converted on opening) may leave it.
//
// Whatever the file holds: opening succeeds; a batch appended after opening
// is read back, last and intact; replay in small chunks ends, each record's
// events counted once (what Open counted is what the chunks hand over); once
// everything is consumed the spool is empty, and stays so when reopened.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "aigw/v1/usage.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "libs/common/logging.h"
#include "services/gateway/event_spool.h"

namespace {

using aigw::gateway::EventSpool;
using aigw::gateway::SpoolChunk;

// A directory of this process's own, on tmpfs when there is one (every input
// is written and fsync'd).
const std::string& SpoolDir() {
  static const std::string* const dir = [] {
    std::string base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    if (const char* env = getenv("AIGW_FUZZ_TMPDIR")) base = env;
    std::string templ = base + "/aigw-spool-fuzz-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) abort();
    atexit([] { std::filesystem::remove_all(SpoolDir()); });
    return new std::string(templ);
  }();
  return *dir;
}

aigw::v1::RecordCallsRequest KnownBatch() {
  aigw::v1::RecordCallsRequest batch;
  aigw::v1::CallEvent* e = batch.add_events();
  e->set_request_id("fuzz-known");
  e->set_attempt(1);
  e->set_provider_code("openai");
  e->set_model("gpt-4o");
  e->set_error_message("\xe8\xaf\xb7\xe6\xb1\x82");  // 请求
  return batch;
}

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "event spool: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool quiet = [] {
    // Every set-aside range and refused parse would be logged.
    google::protobuf::SetLogHandler(nullptr);
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  const std::string path = SpoolDir() + "/spool";
  {
    FILE* f = fopen(path.c_str(), "wb");
    Check(f != nullptr && fwrite(data, 1, size, f) == size && fclose(f) == 0, "cannot write input");
  }
  {
    absl::StatusOr<std::unique_ptr<EventSpool>> opened = EventSpool::Open(path);
    Check(opened.ok(), "Open failed on the file's contents");
    EventSpool& spool = **opened;
    const int64_t waiting = spool.events();
    Check(waiting >= 0 && spool.bytes() >= 0, "negative counts");

    const aigw::v1::RecordCallsRequest known = KnownBatch();
    Check(spool.Append(known).ok(), "Append failed");
    Check(spool.events() == waiting + 1, "Append not counted");

    // Replay in small chunks; the appended batch comes last.
    int64_t events = 0;
    aigw::v1::RecordCallsRequest last;
    bool any = false;
    for (size_t round = 0;; ++round) {
      Check(round <= size + 2, "replay does not end");
      absl::StatusOr<SpoolChunk> chunk = spool.Read(64);
      Check(chunk.ok(), "Read failed");
      if (chunk->begin == chunk->end) {
        Check(chunk->batches.empty(), "an empty chunk with batches");
        break;
      }
      Check(chunk->begin < chunk->end, "a chunk that goes backwards");
      events += chunk->events;
      if (!chunk->batches.empty()) {
        last = chunk->batches.back();
        any = true;
      }
      Check(spool.Consume(*chunk).ok(), "Consume failed");
    }
    Check(any && google::protobuf::util::MessageDifferencer::Equals(last, known),
          "the appended batch is not read back last");
    Check(events == waiting + 1, "replay handed over other events than Open counted");
    Check(spool.events() == 0 && spool.bytes() == 0, "not empty after everything was consumed");
  }
  {
    absl::StatusOr<std::unique_ptr<EventSpool>> reopened = EventSpool::Open(path);
    Check(reopened.ok() && (*reopened)->events() == 0 && (*reopened)->bytes() == 0,
          "not empty when reopened");
  }
  // The spool and what it made beside it (.pos, .unreadable, a rewrite's .tmp).
  for (const auto& entry : std::filesystem::directory_iterator(SpoolDir())) {
    std::filesystem::remove_all(entry.path());
  }
  return 0;
}
