// formats/mmap_file.h — a read-only memory mapping of a whole file.
//
// The mapping is private to this object: moving it moves ownership, destruction unmaps. Pointers
// into data() stay valid for the object's lifetime (also across moves: the address never changes).
// An empty file maps to data() == nullptr, size() == 0. Thread safety: const methods may be used
// from any number of threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "quant/status.h"

namespace quanta::formats {

class MmapFile {
public:
    // Maps `path` read-only (MAP_SHARED, so processes share the page cache). Errors name the path
    // and the system error: "mmap: 'x.qnt': open failed: No such file or directory".
    static Result<MmapFile> open(const std::string & path);

    MmapFile() = default;
    MmapFile(MmapFile && other) noexcept;
    MmapFile & operator=(MmapFile && other) noexcept;
    MmapFile(const MmapFile &) = delete;
    MmapFile & operator=(const MmapFile &) = delete;
    ~MmapFile();

    const uint8_t * data() const { return data_; }
    uint64_t size() const { return size_; }
    std::span<const uint8_t> bytes() const { return {data_, size_t(size_)}; }
    const std::string & path() const { return path_; }

    // Hints for the kernel; failures are ignored (they are only hints).
    void advise_sequential() const;
    void advise_willneed(uint64_t offset, uint64_t length) const;

private:
    void release();

    const uint8_t * data_ = nullptr;
    uint64_t size_ = 0;
    std::string path_;
};

}  // namespace quanta::formats
