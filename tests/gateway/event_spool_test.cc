// The on-disk spool of call events: crash safety, reading past whatever
// cannot be read, bounded reads, the replay position, the first format.

#include "services/gateway/event_spool.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace aigw::gateway {
namespace {

namespace fs = std::filesystem;

aigw::v1::CallEvent Event(int i) {
  aigw::v1::CallEvent e;
  e.set_request_id("req-" + std::to_string(i));
  e.set_attempt(1);
  e.set_provider_code("openai");
  return e;
}

aigw::v1::RecordCallsRequest Batch(int first, int n) {
  aigw::v1::RecordCallsRequest b;
  for (int i = first; i < first + n; ++i) *b.add_events() = Event(i);
  return b;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A batch of one event whose error text was cut inside a character (proto3
// serializes it, and refuses to parse it).
std::string UndecodableBatch(int i) {
  aigw::v1::RecordCallsRequest b = Batch(i, 1);
  b.mutable_events(0)->set_error_message("\xE4\xB8\xAD\xE6\x96");  // 中 + a cut 文
  std::string bytes = b.SerializeAsString();
  aigw::v1::RecordCallsRequest check;
  EXPECT_FALSE(check.ParseFromString(bytes)) << "the test needs an undecodable record";
  return bytes;
}

// Request ids of every event read from the replay position to the end, each
// chunk consumed.
std::vector<std::string> Drain(EventSpool& spool, int64_t chunk_bytes = 1 << 20) {
  std::vector<std::string> ids;
  for (;;) {
    absl::StatusOr<SpoolChunk> chunk = spool.Read(chunk_bytes);
    EXPECT_TRUE(chunk.ok()) << chunk.status();
    if (!chunk.ok() || chunk->begin == chunk->end) break;
    for (const auto& b : chunk->batches) {
      for (const auto& e : b.events()) ids.push_back(e.request_id());
    }
    EXPECT_TRUE(spool.Consume(*chunk).ok());
  }
  return ids;
}

std::vector<std::string> Ids(int first, int n) {
  std::vector<std::string> ids;
  for (int i = first; i < first + n; ++i) ids.push_back("req-" + std::to_string(i));
  return ids;
}

class EventSpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("aigw_spool_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "events.spool").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Appends batches of 2 events: req-0,1 | req-2,3 | ...; returns each
  // record's offset in the file.
  std::vector<int64_t> AppendBatches(int batches) {
    auto spool = EventSpool::Open(path_);
    EXPECT_TRUE(spool.ok()) << spool.status();
    std::vector<int64_t> offsets;
    for (int i = 0; i < batches; ++i) {
      offsets.push_back(static_cast<int64_t>(fs::file_size(path_)));
      EXPECT_TRUE((*spool)->Append(Batch(2 * i, 2)).ok());
    }
    return offsets;
  }

  int64_t Unreadable() {
    std::error_code ec;
    const auto n = fs::file_size(path_ + ".unreadable", ec);
    return ec ? 0 : static_cast<int64_t>(n);
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(EventSpoolTest, SurvivesReopenAndSetsATornTailAside) {
  AppendBatches(2);
  // A crash in the middle of the next append leaves a partial record.
  const std::string whole = ReadFile(path_);
  {
    std::FILE* f = std::fopen(path_.c_str(), "ab");
    const std::string torn = whole.substr(0, whole.size() / 2 - 3);
    std::fwrite(torn.data(), 1, torn.size(), f);
    std::fclose(f);
  }
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->events(), 4);
  EXPECT_EQ(static_cast<size_t>(fs::file_size(path_)), whole.size()) << "the torn tail is cut off";
  EXPECT_EQ(Unreadable(), static_cast<int64_t>(whole.size() / 2 - 3)) << "and kept aside";
  ASSERT_TRUE((*spool)->Append(Batch(9, 1)).ok());
  std::vector<std::string> want = Ids(0, 4);
  want.push_back("req-9");
  EXPECT_EQ(Drain(**spool), want);
  EXPECT_EQ((*spool)->events(), 0);
  EXPECT_EQ(fs::file_size(path_), 0u) << "emptied once everything is delivered";
}

TEST_F(EventSpoolTest, ConsumeKeepsWhatWasAppendedAfterTheRead) {
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  ASSERT_TRUE((*spool)->Append(Batch(1, 1)).ok());
  absl::StatusOr<SpoolChunk> chunk = (*spool)->Read(1 << 20);
  ASSERT_TRUE(chunk.ok());
  ASSERT_EQ(chunk->batches.size(), 1u);
  ASSERT_TRUE((*spool)->Append(Batch(2, 1)).ok());  // arrives while the read is sent
  ASSERT_TRUE((*spool)->Consume(*chunk).ok());
  EXPECT_EQ((*spool)->events(), 1);
  EXPECT_EQ(Drain(**spool), Ids(2, 1));
}

TEST_F(EventSpoolTest, ACorruptedRecordInTheMiddleIsSetAsideAndReplayGoesOn) {
  const std::vector<int64_t> at = AppendBatches(5);
  std::string bytes = ReadFile(path_);
  bytes[at[2] + 20] ^= 0x55;  // a bit flip in the third record's payload
  WriteFile(path_, bytes);
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->events(), 8) << "the bad record is not counted";
  EXPECT_EQ(fs::file_size(path_), bytes.size()) << "nothing after it is cut off";
  std::vector<std::string> want = Ids(0, 4);
  for (const auto& id : Ids(6, 4)) want.push_back(id);
  EXPECT_EQ(Drain(**spool), want);
  EXPECT_EQ(Unreadable(), at[3] - at[2]);
  EXPECT_EQ((*spool)->unreadable_bytes(), at[3] - at[2]);
}

TEST_F(EventSpoolTest, ABadLengthInTheMiddleNeitherStopsReplayNorTruncatesWhatFollows) {
  const std::vector<int64_t> at = AppendBatches(4);
  std::string bytes = ReadFile(path_);
  // The second record's length now runs past the end of the file, as a
  // torn tail's would: the reader must look further before cutting.
  bytes[at[1] + 4] = '\xFF';
  bytes[at[1] + 5] = '\xFF';
  bytes[at[1] + 6] = '\x0F';
  WriteFile(path_, bytes);
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ(fs::file_size(path_), bytes.size());
  std::vector<std::string> want = Ids(0, 2);
  for (const auto& id : Ids(4, 4)) want.push_back(id);
  EXPECT_EQ(Drain(**spool), want);
  EXPECT_EQ(Unreadable(), at[2] - at[1]);
}

TEST_F(EventSpoolTest, GarbageBetweenRecordsIsSkipped) {
  auto writer = EventSpool::Open(path_);
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(Batch(0, 2)).ok());
  {
    std::FILE* f = std::fopen(path_.c_str(), "ab");
    std::fputs("AGS2 this is no record at all", f);
    std::fclose(f);
  }
  ASSERT_TRUE((*writer)->Append(Batch(7, 1)).ok());
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->events(), 3);
  std::vector<std::string> want = Ids(0, 2);
  want.push_back("req-7");
  EXPECT_EQ(Drain(**spool), want);
  EXPECT_EQ(Unreadable(), 29);
}

TEST_F(EventSpoolTest, ARecordWhoseTextIsNotUtf8IsRepaired) {
  // What a gateway that cut error text inside a character spooled: the
  // checksum holds, the payload does not parse as proto3.
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  aigw::v1::RecordCallsRequest bad = Batch(5, 1);
  bad.mutable_events(0)->set_error_message("\xE4\xB8\xAD\xE6\x96");  // 中 + a cut 文
  ASSERT_TRUE((*spool)->Append(bad).ok());
  ASSERT_TRUE((*spool)->Append(Batch(6, 1)).ok());
  absl::StatusOr<SpoolChunk> chunk = (*spool)->Read(1 << 20);
  ASSERT_TRUE(chunk.ok());
  ASSERT_EQ(chunk->batches.size(), 2u);
  EXPECT_EQ(chunk->repaired, 1);
  EXPECT_EQ(chunk->batches[0].events(0).request_id(), "req-5");
  EXPECT_EQ(chunk->batches[0].events(0).error_message(), "中\xEF\xBF\xBD");
  EXPECT_EQ(chunk->batches[1].events(0).request_id(), "req-6");
  EXPECT_EQ(Unreadable(), 0);
}

TEST_F(EventSpoolTest, ARecordThatIsNoMessageIsSetAside) {
  // The first format took any payload; its checksum is computed when it is
  // converted, so the record passes it and fails to parse.
  std::string legacy;
  const std::string not_a_message = "\xFF\xFF\xFF\xFF";
  for (const std::string& payload :
       {Batch(0, 1).SerializeAsString(), not_a_message, Batch(1, 1).SerializeAsString()}) {
    const uint32_t n = static_cast<uint32_t>(payload.size());
    for (int i = 0; i < 4; ++i) legacy.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
    legacy += payload;
  }
  WriteFile(path_, legacy);
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ(Drain(**spool), Ids(0, 2));
  EXPECT_EQ(Unreadable(), 16 + 4) << "its header and payload are kept aside";
}

TEST_F(EventSpoolTest, AFirstFormatSpoolIsConvertedAndItsTornTailSetAside) {
  std::string legacy;
  for (const std::string& payload :
       {Batch(0, 2).SerializeAsString(), UndecodableBatch(2), Batch(3, 2).SerializeAsString()}) {
    const uint32_t n = static_cast<uint32_t>(payload.size());
    for (int i = 0; i < 4; ++i) legacy.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
    legacy += payload;
  }
  legacy += std::string("\x40\x00\x00\x00partial", 11);  // a crash mid-append
  WriteFile(path_, legacy);
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok()) << spool.status();
  EXPECT_EQ((*spool)->events(), 5);
  EXPECT_EQ(Unreadable(), 11);
  std::vector<std::string> want = Ids(0, 3);
  for (const auto& id : Ids(3, 2)) want.push_back(id);
  EXPECT_EQ(Drain(**spool), want);
}

TEST_F(EventSpoolTest, ReadsABoundedChunkAtATime) {
  AppendBatches(50);
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  const int64_t limit = (*spool)->bytes() / 10;
  int chunks = 0;
  int64_t events = 0;
  for (;;) {
    absl::StatusOr<SpoolChunk> chunk = (*spool)->Read(limit);
    ASSERT_TRUE(chunk.ok());
    if (chunk->begin == chunk->end) break;
    EXPECT_LE(chunk->end - chunk->begin, limit);
    events += chunk->events;
    ++chunks;
    ASSERT_TRUE((*spool)->Consume(*chunk).ok());
  }
  EXPECT_GE(chunks, 10);
  EXPECT_EQ(events, 100);
  // A record larger than the chunk still comes, alone.
  ASSERT_TRUE((*spool)->Append(Batch(0, 3)).ok());
  ASSERT_TRUE((*spool)->Append(Batch(3, 3)).ok());
  absl::StatusOr<SpoolChunk> chunk = (*spool)->Read(1);
  ASSERT_TRUE(chunk.ok());
  EXPECT_EQ(chunk->batches.size(), 1u);
}

TEST_F(EventSpoolTest, TheReplayPositionSurvivesARestart) {
  AppendBatches(4);
  {
    auto spool = EventSpool::Open(path_);
    ASSERT_TRUE(spool.ok());
    const int64_t half = (*spool)->bytes() / 2;
    absl::StatusOr<SpoolChunk> chunk = (*spool)->Read(half);
    ASSERT_TRUE(chunk.ok());
    ASSERT_EQ(chunk->batches.size(), 2u);
    ASSERT_TRUE((*spool)->Consume(*chunk).ok());
  }
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ((*spool)->events(), 4);
  EXPECT_EQ(Drain(**spool), Ids(4, 4)) << "what was delivered is not sent again";
}

TEST_F(EventSpoolTest, APositionSavedForAnotherFileIsIgnored) {
  AppendBatches(2);
  {
    auto spool = EventSpool::Open(path_);
    ASSERT_TRUE(spool.ok());
    absl::StatusOr<SpoolChunk> chunk = (*spool)->Read(1);
    ASSERT_TRUE(chunk.ok());
    ASSERT_TRUE((*spool)->Consume(*chunk).ok());
  }
  // An operator puts the rejected file in the spool's place (README): the
  // position belongs to the old file.
  const std::string other = path_ + ".other";
  fs::copy_file(path_, other);
  fs::rename(other, path_);
  auto spool = EventSpool::Open(path_);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ(Drain(**spool), Ids(0, 4));
}

TEST_F(EventSpoolTest, TheDeliveredFrontIsCompactedAway) {
  AppendBatches(20);
  EventSpool::Options options;
  options.compact_after_bytes = 1;
  auto spool = EventSpool::Open(path_, options);
  ASSERT_TRUE(spool.ok());
  const int64_t all = (*spool)->bytes();
  absl::StatusOr<SpoolChunk> chunk = (*spool)->Read(all * 3 / 4);
  ASSERT_TRUE(chunk.ok());
  ASSERT_TRUE((*spool)->Consume(*chunk).ok());
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(path_)), all - (chunk->end - chunk->begin));
  const int left = 20 - static_cast<int>(chunk->batches.size());
  spool->reset();
  spool = EventSpool::Open(path_, options);
  ASSERT_TRUE(spool.ok());
  EXPECT_EQ(Drain(**spool), Ids(2 * (20 - left), 2 * left));
}

}  // namespace
}  // namespace aigw::gateway
