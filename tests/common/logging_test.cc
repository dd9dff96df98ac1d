#include "libs/common/logging.h"

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "absl/time/time.h"

namespace aigw {
namespace {

TEST(InitLoggingTest, OneLogfmtLinePerEventOnStderrInUtc) {
  ASSERT_TRUE(InitLogging("testsvc", "info").ok());
  ::testing::internal::CaptureStderr();
  spdlog::info("msg=\"keys loaded\" name={}", absl::string_view("viewed"));
  spdlog::debug("msg=\"below the level\"");
  const std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(absl::EndsWith(out, " info aigw-testsvc msg=\"keys loaded\" name=viewed\n")) << out;
  EXPECT_FALSE(absl::StrContains(out, "below the level")) << out;
  // 2026-11-26T08:15:59.123Z, within a second of now.
  absl::Time at;
  std::string error;
  ASSERT_TRUE(absl::ParseTime("%Y-%m-%dT%H:%M:%E3SZ", out.substr(0, 24), absl::UTCTimeZone(),
                              &at, &error))
      << out << error;
  EXPECT_LT(absl::AbsDuration(absl::Now() - at), absl::Minutes(1));
}

TEST(InitLoggingTest, TheLevelIsTheOneGiven) {
  ASSERT_TRUE(InitLogging("testsvc", "warn").ok());
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);
  ASSERT_TRUE(InitLogging("testsvc", "off").ok());
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::off);
}

TEST(InitLoggingTest, AnUnknownLevelIsRefusedAndSaysWhichAreKnown) {
  absl::Status st = InitLogging("testsvc", "loud");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(st.message(), "trace|debug|info|warn|error")) << st;
}

}  // namespace
}  // namespace aigw
