// The ObjectChunk wire layout: what EncodeChunk writes is ordinary protobuf,
// and ChunkReader reads it (and protobuf's own encoding) from any slicing.
#include "object_manager/chunk_codec.h"

#include <string>
#include <vector>

#include <grpcpp/impl/codegen/proto_utils.h>
#include <gtest/gtest.h>

namespace flare {
namespace {

// `message`'s bytes cut into slices of `slice_bytes`, as a socket read might.
grpc::ByteBuffer Resliced(const grpc::ByteBuffer& message, size_t slice_bytes) {
  grpc::Slice whole;
  EXPECT_TRUE(message.DumpToSingleSlice(&whole).ok());
  std::vector<grpc::Slice> slices;
  for (size_t at = 0; at < whole.size(); at += slice_bytes) {
    slices.emplace_back(whole.begin() + at, std::min(slice_bytes, whole.size() - at));
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

grpc::ByteBuffer FromBytes(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::vector<uint8_t> Pattern(size_t size) {
  std::vector<uint8_t> data(size);
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<uint8_t>(i * 7 + 1);
  return data;
}

TEST(ChunkCodecTest, EncodedChunkIsAnOrdinaryProtobufObjectChunk) {
  const std::vector<uint8_t> data = Pattern(1000);
  grpc::ByteBuffer message = EncodeChunk(123456789, data.data(), data.size(), nullptr);
  rpc::ObjectChunk chunk;
  ASSERT_TRUE(grpc::SerializationTraits<rpc::ObjectChunk>::Deserialize(&message, &chunk).ok());
  EXPECT_EQ(chunk.offset(), 123456789u);
  EXPECT_EQ(chunk.data(), std::string(data.begin(), data.end()));
}

TEST(ChunkCodecTest, ReaderCopiesTheDataWhateverTheSlicing) {
  const std::vector<uint8_t> data = Pattern(5000);
  const grpc::ByteBuffer message = EncodeChunk(1u << 20, data.data(), data.size(), nullptr);
  for (size_t slice_bytes : {1, 3, 7, 64, 4096, 100000}) {
    ChunkReader reader;
    ASSERT_TRUE(reader.Parse(Resliced(message, slice_bytes)).ok()) << "slices of " << slice_bytes;
    EXPECT_EQ(reader.offset(), 1u << 20);
    ASSERT_EQ(reader.length(), data.size());
    std::vector<uint8_t> copy(data.size(), 0);
    reader.CopyDataTo(copy.data());
    EXPECT_EQ(copy, data) << "slices of " << slice_bytes;
  }
}

TEST(ChunkCodecTest, ReaderAcceptsProtobufsEncodingOfOffsetZero) {
  rpc::ObjectChunk chunk;  // proto3 leaves a zero offset out
  chunk.set_data("abc");
  ChunkReader reader;
  ASSERT_TRUE(reader.Parse(FromBytes(chunk.SerializeAsString())).ok());
  EXPECT_EQ(reader.offset(), 0u);
  EXPECT_EQ(reader.length(), 3u);
}

TEST(ChunkCodecTest, ReaderRefusesOtherLayoutsAndLengthsThatDisagree) {
  ChunkReader reader;
  EXPECT_FALSE(reader.Parse(FromBytes("")).ok()) << "empty message";
  EXPECT_FALSE(reader.Parse(FromBytes(std::string("\x08\x05", 2))).ok()) << "no data field";
  EXPECT_FALSE(reader.Parse(FromBytes(std::string("\x12\x05" "abc", 5))).ok())
      << "says 5 data bytes, carries 3";
  EXPECT_FALSE(reader.Parse(FromBytes(std::string("\x12\x01" "ab", 4))).ok())
      << "trailing bytes after the data";
  EXPECT_FALSE(reader.Parse(FromBytes(std::string("\x08\xff\xff", 3))).ok()) << "cut varint";
}

TEST(ChunkCodecTest, EncodedChunkKeepsItsOwnerAliveUntilGrpcLetsGo) {
  const std::vector<uint8_t> data = Pattern(100);
  auto owner = std::make_shared<int>(1);
  std::weak_ptr<int> watch = owner;
  {
    grpc::ByteBuffer message = EncodeChunk(0, data.data(), data.size(), std::move(owner));
    EXPECT_FALSE(watch.expired()) << "the message still points at the data";
  }
  EXPECT_TRUE(watch.expired()) << "the data's owner was released with the message";
}

TEST(ChunkCodecTest, RequestRoundTrips) {
  rpc::PullRequest request;
  request.set_object_id(std::string(20, 'x'));
  request.set_object_size(42);
  request.set_offset(7);
  request.set_length(9);
  rpc::PullRequest decoded;
  ASSERT_TRUE(DecodeRequest(EncodeRequest(request), &decoded));
  EXPECT_EQ(decoded.SerializeAsString(), request.SerializeAsString());
}

}  // namespace
}  // namespace flare
