#include "libs/server/grpc_status.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "aigw/v1/usage.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/common/utf8.h"
#include "tests/testing/local_grpc_server.h"

namespace aigw::server {
namespace {

std::string Chinese(int chars) {
  std::string s;
  for (int i = 0; i < chars; ++i) s += "错";
  return s;
}

size_t WireBytes(absl::string_view m) {
  size_t n = 0;
  for (unsigned char c : m) n += c >= 0x20 && c <= 0x7E && c != '%' ? 1 : 3;
  return n;
}

TEST(BoundedStatusMessageTest, ShortValidMessagesPassUnchanged) {
  EXPECT_EQ(BoundedStatusMessage("openai refused the request (HTTP 400): 请求参数错误"),
            "openai refused the request (HTTP 400): 请求参数错误");
  const std::string ascii(kMaxStatusMessageWireBytes, 'a');
  EXPECT_EQ(BoundedStatusMessage(ascii), ascii);
}

TEST(BoundedStatusMessageTest, LongMessagesAreCutBetweenCharactersToTheWireBound) {
  const std::string m = BoundedStatusMessage(absl::StrCat("openai: ", Chinese(4000)));
  EXPECT_TRUE(IsValidUtf8(m));
  EXPECT_LE(WireBytes(m), kMaxStatusMessageWireBytes);
  EXPECT_GT(WireBytes(m), kMaxStatusMessageWireBytes - 12);
  EXPECT_TRUE(absl::EndsWith(m, "错..."));
  const std::string percent = BoundedStatusMessage(std::string(5000, '%'));
  EXPECT_LE(WireBytes(percent), kMaxStatusMessageWireBytes);
}

TEST(BoundedStatusMessageTest, InvalidUtf8IsReplaced) {
  EXPECT_EQ(BoundedStatusMessage("cut \xE9\x94"), "cut \xEF\xBF\xBD");
}

TEST(StatusConversionTest, CodesAndMessagesCrossBothWays) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(ToAbslStatus(grpc::Status::OK).ok());
  const grpc::Status to_grpc = ToGrpcStatus(absl::ResourceExhaustedError("no key free"));
  EXPECT_EQ(to_grpc.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(to_grpc.error_message(), "no key free");
  const absl::Status to_absl =
      ToAbslStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "usage is down"));
  EXPECT_EQ(to_absl, absl::UnavailableError("usage is down"));
  // Toward gRPC the message is bounded; back it is taken as it came.
  const std::string long_message(3 * kMaxStatusMessageWireBytes, 'x');
  EXPECT_LE(ToGrpcStatus(absl::InternalError(long_message)).error_message().size(),
            kMaxStatusMessageWireBytes);
  EXPECT_EQ(ToAbslStatus(grpc::Status(grpc::StatusCode::INTERNAL, long_message)).message(),
            long_message);
}

// A status answered by a server in this process, as a client receives it.
class Refusing final : public aigw::v1::UsageService::CallbackService {
 public:
  explicit Refusing(absl::Status answer) : answer_(std::move(answer)) {}
  grpc::ServerUnaryReactor* RecordCalls(grpc::CallbackServerContext* ctx,
                                        const aigw::v1::RecordCallsRequest*,
                                        aigw::v1::RecordCallsResponse*) override {
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
    reactor->Finish(ToGrpcStatus(answer_));
    return reactor;
  }

 private:
  absl::Status answer_;
};

TEST(BoundedStatusMessageTest, AClientReceivesTheCodeOfALongChineseRefusal) {
  Refusing service(absl::InvalidArgumentError(
      absl::StrCat("openai refused the request (HTTP 400): ", Chinese(3600))));
  testing::LocalGrpcServer server({&service});
  ASSERT_TRUE(server.ok());
  auto stub = aigw::v1::UsageService::NewStub(server.NewChannel());
  grpc::ClientContext ctx;
  aigw::v1::RecordCallsResponse response;
  grpc::Status st = stub->RecordCalls(&ctx, aigw::v1::RecordCallsRequest(), &response);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_TRUE(absl::StartsWith(st.error_message(), "openai refused the request (HTTP 400): 错错"));
}

}  // namespace
}  // namespace aigw::server
