#include "libs/http/http2_admission.h"

#include <curl/curl.h>

#include <vector>

#include "gtest/gtest.h"

namespace aigw::http {
namespace {

constexpr char kHost[] = "api.example.com:443";

// Ids from..to (inclusive).
std::vector<Http2Admission::Id> Ids(Http2Admission::Id from, Http2Admission::Id to) {
  std::vector<Http2Admission::Id> ids;
  for (Http2Admission::Id i = from; i <= to; ++i) ids.push_back(i);
  return ids;
}

TEST(Http2AdmissionTest, ABurstOpensOneConnectionAtATime) {
  Http2Admission a(4);
  // No connection yet: the first call opens one, the rest wait for it.
  EXPECT_TRUE(a.Arrive(kHost, 1));
  for (Http2Admission::Id id = 2; id <= 12; ++id) EXPECT_FALSE(a.Arrive(kHost, id)) << id;
  EXPECT_TRUE(a.TakeStartable().empty());
  EXPECT_EQ(a.waiting(), 11);
  // Its connection is ready: three more fill it, and one opens the next.
  a.Sent(1, /*new_connection=*/true, /*socket=*/10);
  EXPECT_EQ(a.TakeStartable(), Ids(2, 5));
  a.Sent(2, false, -1);
  a.Sent(3, false, -1);
  a.Sent(4, false, -1);
  EXPECT_TRUE(a.TakeStartable().empty()) << "the opener's connection is not ready yet";
  a.Sent(5, true, 11);
  EXPECT_EQ(a.TakeStartable(), Ids(6, 9));
  EXPECT_EQ(a.waiting(), 3);
}

TEST(Http2AdmissionTest, FinishedCallsMakeRoomOnReadyConnections) {
  Http2Admission a(2);
  ASSERT_TRUE(a.Arrive(kHost, 1));
  a.Sent(1, true, 10);
  ASSERT_TRUE(a.Arrive(kHost, 2));
  ASSERT_TRUE(a.Arrive(kHost, 3));  // opens the next connection
  EXPECT_FALSE(a.Arrive(kHost, 4));
  a.Finished(1, CURL_HTTP_VERSION_2_0);
  EXPECT_EQ(a.TakeStartable(), Ids(4, 4)) << "room on the first connection";
  EXPECT_FALSE(a.Arrive(kHost, 5));
}

TEST(Http2AdmissionTest, AnOpenerThatFailsHandsTheJobOn) {
  Http2Admission a(8);
  ASSERT_TRUE(a.Arrive(kHost, 1));
  ASSERT_FALSE(a.Arrive(kHost, 2));
  ASSERT_FALSE(a.Arrive(kHost, 3));
  a.Finished(1, 0);  // connection refused: no answer, no connection
  EXPECT_EQ(a.TakeStartable(), Ids(2, 2)) << "the next in line opens a connection";
  a.Sent(2, true, 10);
  EXPECT_EQ(a.TakeStartable(), Ids(3, 3));
}

TEST(Http2AdmissionTest, AnHttp1HostIsNotHeldBackOnceItAnswered) {
  Http2Admission a(100);
  ASSERT_TRUE(a.Arrive(kHost, 1));
  for (Http2Admission::Id id = 2; id <= 5; ++id) ASSERT_FALSE(a.Arrive(kHost, id));
  a.Sent(1, true, 10);
  a.Finished(1, CURL_HTTP_VERSION_1_1);
  EXPECT_EQ(a.TakeStartable(), Ids(2, 5));
  for (Http2Admission::Id id = 6; id <= 500; ++id) EXPECT_TRUE(a.Arrive(kHost, id));
}

TEST(Http2AdmissionTest, AClosedConnectionTakesItsRoomAway) {
  Http2Admission a(2);
  ASSERT_TRUE(a.Arrive(kHost, 1));
  a.Sent(1, true, 10);
  a.Finished(1, CURL_HTTP_VERSION_2_0);
  a.Closed(10);  // the server's idle timeout
  ASSERT_TRUE(a.Arrive(kHost, 2));   // opens a new connection
  EXPECT_FALSE(a.Arrive(kHost, 3));  // instead of piling onto the closed one
}

TEST(Http2AdmissionTest, HostsAreIndependentAndWithdrawnCallsLeaveTheQueue) {
  Http2Admission a(1);
  ASSERT_TRUE(a.Arrive(kHost, 1));
  ASSERT_FALSE(a.Arrive(kHost, 2));
  ASSERT_FALSE(a.Arrive(kHost, 3));
  EXPECT_TRUE(a.Arrive("other.example.com:443", 4));
  EXPECT_TRUE(a.Withdraw(2));
  EXPECT_FALSE(a.Withdraw(2));
  EXPECT_FALSE(a.Withdraw(1)) << "already started";
  a.Sent(1, true, 10);
  EXPECT_EQ(a.TakeStartable(), Ids(3, 3));
  EXPECT_EQ(a.waiting(), 0);
}

}  // namespace
}  // namespace aigw::http
