// What every GCS Store does, as one check run against each kind of store
// (memory, SQLite, Redis): the tests of each kind call it on a fresh one.
#ifndef FLARE_TESTS_CPP_STORE_CONTRACT_H_
#define FLARE_TESTS_CPP_STORE_CONTRACT_H_

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gcs/store.h"

namespace flare {
namespace testing {

// REQUIRES: `store` holds nothing in tables "t" and "u".
inline void CheckStoreContract(Store& store) {
  EXPECT_EQ(store.Get("t", "k").value(), std::nullopt) << "an absent key reads as nullopt";
  EXPECT_TRUE(store.Scan("t").value().empty()) << "a table never written is empty";

  EXPECT_TRUE(store.Put("t", "k", "one", /*overwrite=*/false).value());
  EXPECT_FALSE(store.Put("t", "k", "two", /*overwrite=*/false).value())
      << "without overwrite an existing value stays";
  EXPECT_EQ(store.Get("t", "k").value(), "one");
  EXPECT_TRUE(store.Put("t", "k", "three", /*overwrite=*/true).value());
  EXPECT_EQ(store.Get("t", "k").value(), "three");

  const std::string binary("\0\r\n$*\xff", 6);  // keys and values are bytes
  EXPECT_TRUE(store.Put("t", binary, binary + binary, true).value());
  EXPECT_EQ(store.Get("t", binary).value(), binary + binary);
  EXPECT_TRUE(store.Put("u", "k", "", true).value());
  EXPECT_EQ(store.Get("u", "k").value(), "") << "an empty value is a value";
  EXPECT_EQ(store.Get("u", binary).value(), std::nullopt) << "tables are apart";

  std::vector<Store::Entry> entries = store.Scan("t").value();
  std::sort(entries.begin(), entries.end());
  const std::vector<Store::Entry> expected{{std::string(binary), binary + binary}, {"k", "three"}};
  EXPECT_EQ(entries, expected);

  EXPECT_TRUE(store.Delete("t", "k").value());
  EXPECT_FALSE(store.Delete("t", "k").value()) << "deleting an absent key says so";
  EXPECT_EQ(store.Get("t", "k").value(), std::nullopt);
  EXPECT_EQ(store.Scan("t").value().size(), 1u);
}

}  // namespace testing
}  // namespace flare

#endif  // FLARE_TESTS_CPP_STORE_CONTRACT_H_
