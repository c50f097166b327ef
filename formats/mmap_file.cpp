// formats/mmap_file.cpp — POSIX mmap of a whole file, read-only.
#include "formats/mmap_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace quanta::formats {

namespace {

Status sys_error(const std::string & path, const char * what, int err) {
    return Status::error("mmap: '" + path + "': " + what + ": " + std::strerror(err));
}

}  // namespace

Result<MmapFile> MmapFile::open(const std::string & path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sys_error(path, "open failed", errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        int err = errno;
        ::close(fd);
        return sys_error(path, "stat failed", err);
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        return Status::error("mmap: '" + path + "': is a directory, not a file");
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return Status::error("mmap: '" + path + "': not a regular file");
    }
    MmapFile file;
    file.path_ = path;
    file.size_ = uint64_t(st.st_size);
    if (file.size_ > 0) {
        if (uint64_t(size_t(file.size_)) != file.size_) {
            ::close(fd);
            return Status::error("mmap: '" + path + "': file of " + std::to_string(file.size_) +
                                 " bytes does not fit the address space");
        }
        void * p = ::mmap(nullptr, size_t(file.size_), PROT_READ, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) {
            int err = errno;
            ::close(fd);
            return sys_error(path, "mmap failed", err);
        }
        file.data_ = static_cast<const uint8_t *>(p);
    }
    // The mapping keeps the file alive; the descriptor is no longer needed.
    ::close(fd);
    return file;
}

MmapFile::MmapFile(MmapFile && other) noexcept : data_(other.data_), size_(other.size_), path_(std::move(other.path_)) {
    other.data_ = nullptr;
    other.size_ = 0;
}

MmapFile & MmapFile::operator=(MmapFile && other) noexcept {
    if (this != &other) {
        release();
        data_ = other.data_;
        size_ = other.size_;
        path_ = std::move(other.path_);
        other.data_ = nullptr;
        other.size_ = 0;
    }
    return *this;
}

MmapFile::~MmapFile() {
    release();
}

void MmapFile::release() {
    if (data_ != nullptr) ::munmap(const_cast<uint8_t *>(data_), size_t(size_));
    data_ = nullptr;
    size_ = 0;
}

void MmapFile::advise_sequential() const {
    if (data_ != nullptr) (void)::madvise(const_cast<uint8_t *>(data_), size_t(size_), MADV_SEQUENTIAL);
}

void MmapFile::advise_willneed(uint64_t offset, uint64_t length) const {
    if (data_ == nullptr || offset >= size_) return;
    // madvise needs a page-aligned start.
    const uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
    const uint64_t start = offset / page * page;
    const uint64_t end = length > size_ - offset ? size_ : offset + length;
    (void)::madvise(const_cast<uint8_t *>(data_) + start, size_t(end - start), MADV_WILLNEED);
}

}  // namespace quanta::formats
