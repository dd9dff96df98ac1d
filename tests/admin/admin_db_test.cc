// admin_db: stored timestamps into protobuf Timestamps, and the unique-key
// violation as each backend reports it.

#include <string>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "services/admin/admin_db.h"
#include "soci/soci.h"
#include "tests/testing/test_database.h"

namespace aigw::admin {
namespace {

TEST(SetTimestampTest, TakesTheStoredTextToTheMillisecond) {
  google::protobuf::Timestamp ts;
  SetTimestamp("2026-01-01 00:00:07.250", &ts);
  EXPECT_EQ(ts.seconds(), 1767225607);
  EXPECT_EQ(ts.nanos(), 250000000);
  // MySQL's and SQLite's other spellings.
  google::protobuf::Timestamp iso;
  SetTimestamp("2026-01-01T00:00:07.250Z", &iso);
  EXPECT_EQ(iso.SerializeAsString(), ts.SerializeAsString());
}

TEST(SetTimestampTest, BeforeTheEpochNanosStayPositive) {
  google::protobuf::Timestamp ts;
  SetTimestamp("1969-12-31 23:59:59.500", &ts);
  EXPECT_EQ(ts.seconds(), -1);
  EXPECT_EQ(ts.nanos(), 500000000);
}

TEST(SetTimestampTest, EmptyOrUnreadableTextLeavesItUnset) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(42);
  SetTimestamp("", &ts);
  EXPECT_EQ(ts.seconds(), 42);
  SetTimestamp("yesterday", &ts);
  EXPECT_EQ(ts.seconds(), 42);
  EXPECT_EQ(ts.nanos(), 0);
}

TEST(IsDuplicateKeyErrorTest, KnowsBothBackendsWordsAndNothingElse) {
  EXPECT_TRUE(IsDuplicateKeyError(absl::InternalError(
      "UNIQUE constraint failed: t_ai_providers.provider_code")));
  EXPECT_TRUE(IsDuplicateKeyError(
      absl::InternalError("Duplicate entry 'openai' for key 'uk_provider_code'")));
  EXPECT_FALSE(IsDuplicateKeyError(absl::OkStatus()));
  EXPECT_FALSE(IsDuplicateKeyError(absl::InternalError("FOREIGN KEY constraint failed")));
  EXPECT_FALSE(IsDuplicateKeyError(absl::UnavailableError("database unavailable")));
}

class DuplicateKeyOnBackendTest : public ::testing::TestWithParam<db::Backend> {};

// What each database really says when a concurrent insert wins the race that
// the stores' up-front checks lose.
TEST_P(DuplicateKeyOnBackendTest, TheDatabasesOwnErrorIsRecognised) {
  absl::StatusOr<std::unique_ptr<aigw::testing::TestDatabase>> tdb =
      aigw::testing::TestDatabase::Create(GetParam());
  ASSERT_TRUE(tdb.ok()) << tdb.status();
  absl::Status st = (*tdb)->db().Run([](soci::session& s) {
    s << "INSERT INTO t_ai_providers (provider_code, provider_name, base_url) "
         "VALUES ('openai', 'Again', 'https://api.openai.com/v1')";
    return absl::OkStatus();
  });
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(IsDuplicateKeyError(st)) << st;
}

INSTANTIATE_TEST_SUITE_P(Backends, DuplicateKeyOnBackendTest,
                         ::testing::ValuesIn(aigw::testing::TestDatabase::Backends()),
                         aigw::testing::BackendName);

}  // namespace
}  // namespace aigw::admin
