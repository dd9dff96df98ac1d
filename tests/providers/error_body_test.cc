#include "libs/providers/error_body.h"

#include <string>

#include "gtest/gtest.h"
#include "libs/providers/json_util.h"

namespace aigw::providers {
namespace {

// ReadErrorObject on `body` parsed; `read` says whether it recognised it.
UpstreamError Read(const std::string& body, bool* read) {
  json::ParsedJson doc;
  EXPECT_TRUE(doc.Parse(body).ok()) << body;
  UpstreamError error;
  *read = ReadErrorObject(doc.root(), &error);
  return error;
}

TEST(ReadErrorObjectTest, OpenAiShape) {
  bool read = false;
  UpstreamError e = Read(
      R"({"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}})",
      &read);
  EXPECT_TRUE(read);
  EXPECT_EQ(e.type, "requests");
  EXPECT_EQ(e.message, "Rate limit reached");
  EXPECT_EQ(e.code, "rate_limit_exceeded");
  // Numeric codes come as text too.
  e = Read(R"({"error":{"message":"m","code":429}})", &read);
  EXPECT_EQ(e.code, "429");
}

TEST(ReadErrorObjectTest, AnthropicShapeKeepsTheInnerType) {
  bool read = false;
  UpstreamError e =
      Read(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", &read);
  EXPECT_TRUE(read);
  EXPECT_EQ(e.type, "overloaded_error");
  EXPECT_EQ(e.message, "Overloaded");
  EXPECT_EQ(e.code, "");
}

TEST(ReadErrorObjectTest, TheShapesOfOtherCompatibles) {
  bool read = false;
  EXPECT_EQ(Read(R"({"error":"model not found"})", &read).message, "model not found");
  EXPECT_TRUE(read);
  UpstreamError e = Read(R"({"message":"bad key","type":"auth","code":7})", &read);
  EXPECT_TRUE(read);
  EXPECT_EQ(e.message, "bad key");
  EXPECT_EQ(e.type, "auth");
  EXPECT_EQ(e.code, "7");
  // A top-level "type":"error" is the envelope's, not the error's kind.
  EXPECT_EQ(Read(R"({"type":"error","message":"m"})", &read).type, "");
  EXPECT_EQ(Read(R"({"detail":"Not authenticated"})", &read).message, "Not authenticated");
  EXPECT_TRUE(read);
}

TEST(ReadErrorObjectTest, AnythingElseIsNotAnErrorObject) {
  bool read = true;
  for (const char* body : {R"([1,2])", R"("text")", R"({"error":42})", R"({"message":""})",
                           R"({"choices":[]})"}) {
    read = true;
    Read(body, &read);
    EXPECT_FALSE(read) << body;
  }
}

TEST(BodySnippetTest, TrimsAndKeepsShortBodies) {
  EXPECT_EQ(BodySnippet("  <html>Bad Gateway</html>\n"), "<html>Bad Gateway</html>");
  EXPECT_EQ(BodySnippet(""), "");
}

TEST(BodySnippetTest, CutsLongBodiesBetweenCharacters) {
  std::string body(511, 'x');
  body += "错错错";  // the 512-byte cut falls inside the first character
  const std::string snippet = BodySnippet(body);
  EXPECT_EQ(snippet, std::string(511, 'x'));
  EXPECT_EQ(BodySnippet(std::string(2000, 'y')).size(), 512u);
}

}  // namespace
}  // namespace aigw::providers
