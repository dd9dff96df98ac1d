#include "libs/common/byte_size.h"

#include "gtest/gtest.h"

namespace aigw {
namespace {

TEST(ByteSizeTextTest, ExactMultiplesTakeTheLargestUnit) {
  EXPECT_EQ(ByteSizeText(8 << 20), "8 MiB");
  EXPECT_EQ(ByteSizeText(64 << 10), "64 KiB");
  EXPECT_EQ(ByteSizeText(int64_t{3} << 30), "3 GiB");
  EXPECT_EQ(ByteSizeText(1536 << 10), "1536 KiB");  // 1.5 MiB is not exact in MiB
}

TEST(ByteSizeTextTest, AnythingElseIsCountedInBytes) {
  EXPECT_EQ(ByteSizeText(1500), "1500 bytes");
  EXPECT_EQ(ByteSizeText(1025), "1025 bytes");
  EXPECT_EQ(ByteSizeText(1), "1 byte");
  EXPECT_EQ(ByteSizeText(0), "0 bytes");
}

}  // namespace
}  // namespace aigw
