// Issue 16: an account trusts the host registry only when root alone can change it and every
// header field checks out; anything else is ignored (per-account mode) with a reason for doctor.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>

#include "host_fixture.hpp"

namespace portsafe::host::testing {
namespace {

class RegistryValidation : public HostTest {
 protected:
  std::string path() const { return host_registry_path(dir_); }
  // Rewrites the header; with `reseal` the checksum is made right again, so only the field's
  // own check can refuse it.
  void edit_header(const std::function<void(RegistryHeader&)>& change, bool reseal = true) {
    const int fd = ::open(path().c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    alignas(RegistryHeader) unsigned char bytes[sizeof(RegistryHeader)];
    ASSERT_EQ(::pread(fd, bytes, sizeof bytes, 0), static_cast<ssize_t>(sizeof bytes));
    auto* header = reinterpret_cast<RegistryHeader*>(bytes);
    change(*header);
    if (reseal) header->checksum = HostRegistry::checksum(*header);
    ASSERT_EQ(::pwrite(fd, bytes, sizeof bytes, 0), static_cast<ssize_t>(sizeof bytes));
    ::close(fd);
  }
  void expect_refused(RegistryError expected) {
    const RegistryOpen opened = HostRegistry::open(dir_);
    EXPECT_FALSE(opened.registry);
    EXPECT_EQ(opened.error, expected) << registry_error_name(opened.error) << ": " << opened.reason;
    EXPECT_FALSE(opened.reason.empty());
  }
};

TEST_F(RegistryValidation, AValidRegistryOpensWithItsGeometry) {
  const RegistryOpen opened = HostRegistry::open(dir_);
  ASSERT_TRUE(opened.registry) << opened.reason;
  EXPECT_EQ(opened.registry->range(), kHostRange);
  EXPECT_EQ(opened.registry->block_size(), kBlockSize);
  EXPECT_EQ(opened.registry->block_count(), 4u);
  EXPECT_EQ(opened.registry->block_range(3), (PortRange{30348, 30363}));
  EXPECT_EQ(opened.registry->free_blocks(), 4u);
}

TEST_F(RegistryValidation, NoRegistryMeansPerAccountMode) {
  ::unlink(path().c_str());
  expect_refused(RegistryError::missing);
  RegistryOpen no_dir = HostRegistry::open(dir_ + "/absent");
  EXPECT_EQ(no_dir.error, RegistryError::missing);
}

TEST_F(RegistryValidation, BadMagicIsRefused) {
  edit_header([](RegistryHeader& h) { h.magic ^= 1; });
  expect_refused(RegistryError::bad_magic);
}

TEST_F(RegistryValidation, AnotherLayoutVersionIsRefused) {
  edit_header([](RegistryHeader& h) { h.layout_version = kRegistryLayoutVersion + 1; });
  expect_refused(RegistryError::wrong_version);
}

TEST_F(RegistryValidation, AFieldChangedWithoutItsChecksumIsRefused) {
  edit_header([](RegistryHeader& h) { h.range_low = static_cast<uint16_t>(h.range_low + 1); }, false);
  expect_refused(RegistryError::bad_checksum);
}

TEST_F(RegistryValidation, InconsistentGeometryIsRefused) {
  edit_header([](RegistryHeader& h) { h.block_count += 1; });
  expect_refused(RegistryError::bad_geometry);
}

TEST_F(RegistryValidation, AZeroBlockSizeIsRefused) {
  edit_header([](RegistryHeader& h) { h.block_size = 0; });
  expect_refused(RegistryError::bad_geometry);
}

TEST_F(RegistryValidation, AWrongEntrySizeIsRefused) {
  edit_header([](RegistryHeader& h) { h.block_entry_size = 32; });
  expect_refused(RegistryError::bad_geometry);
}

TEST_F(RegistryValidation, ATruncatedFileIsRefused) {
  ASSERT_EQ(::truncate(path().c_str(), kRegistryHeaderBytes + sizeof(HostBlock)), 0);
  expect_refused(RegistryError::too_small);
  ASSERT_EQ(::truncate(path().c_str(), 10), 0);
  expect_refused(RegistryError::too_small);
}

TEST_F(RegistryValidation, AnotherNetworkNamespacesRegistryIsRefused) {
  edit_header([](RegistryHeader& h) { h.netns_inode += 1; });
  expect_refused(RegistryError::other_netns);
}

TEST_F(RegistryValidation, AFileOthersMayWriteIsRefused) {
  ASSERT_EQ(::chmod(path().c_str(), 0666), 0);
  expect_refused(RegistryError::untrusted_file);
  ASSERT_EQ(::chmod(path().c_str(), 0664), 0);
  expect_refused(RegistryError::untrusted_file);
}

TEST_F(RegistryValidation, AFileNotOwnedByRootIsRefused) {
  ASSERT_EQ(::chown(path().c_str(), kOtherUid, kOtherUid), 0);
  expect_refused(RegistryError::untrusted_file);
}

TEST_F(RegistryValidation, ADirectoryOthersMayWriteIsRefused) {
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  expect_refused(RegistryError::untrusted_dir);
}

TEST_F(RegistryValidation, ADirectoryNotOwnedByRootIsRefused) {
  ASSERT_EQ(::chown(dir_.c_str(), kOtherUid, kOtherUid), 0);
  expect_refused(RegistryError::untrusted_dir);
}

TEST_F(RegistryValidation, ATableOfAnotherRangeOptsOut) {
  const RegistryOpen same = HostRegistry::open_for_range(dir_, kHostRange);
  EXPECT_TRUE(same.registry) << same.reason;
  const RegistryOpen other = HostRegistry::open_for_range(dir_, PortRange{30300, 30399});
  EXPECT_FALSE(other.registry);
  EXPECT_EQ(other.error, RegistryError::range_mismatch);
  EXPECT_NE(other.reason.find("PORTSAFE_RANGE"), std::string::npos) << other.reason;
}

TEST_F(RegistryValidation, TheDaemonReusesAValidRegistryAndReplacesADamagedOne) {
  const uint32_t generation = writer_->grant(2, kOtherUid, account_table_name(), monotonic_ms());
  make_registry(kHostRange, kBlockSize);  // a restarted daemon
  EXPECT_EQ(open_view()->block(2).generation, generation) << "the leases survive a restart";
  edit_header([](RegistryHeader& h) { h.magic = 0; });
  make_registry(kHostRange, kBlockSize);
  const RegistryOpen opened = HostRegistry::open(dir_);
  ASSERT_TRUE(opened.registry) << opened.reason;
  EXPECT_EQ(opened.registry->free_blocks(), 4u);
}

}  // namespace
}  // namespace portsafe::host::testing
