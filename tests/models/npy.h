// tests/models/npy.h — reads the float32 .npy arrays the oracle fixtures store (numpy's format 1.0:
// magic, header dict with descr '<f4', fortran_order False and the shape, then the data).
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

struct NpyF32 {
    std::vector<int64_t> shape;
    std::vector<float> data;
};

inline bool read_npy_f32(const std::string & path, NpyF32 & out) {
    std::ifstream in(path, std::ios::binary);
    char magic[8];
    if (!in.read(magic, 8) || std::string(magic + 1, 5) != "NUMPY") return false;
    uint16_t header_len = 0;
    if (!in.read(reinterpret_cast<char *>(&header_len), 2)) return false;
    std::string header(header_len, '\0');
    if (!in.read(header.data(), header_len)) return false;
    if (header.find("'<f4'") == std::string::npos || header.find("'fortran_order': False") == std::string::npos) {
        return false;
    }
    const size_t open = header.find('(', header.find("'shape'"));
    const size_t close = header.find(')', open);
    std::stringstream dims(header.substr(open + 1, close - open - 1));
    std::string item;
    int64_t count = 1;
    while (std::getline(dims, item, ',')) {
        if (item.find_first_not_of(' ') == std::string::npos) continue;
        out.shape.push_back(std::stoll(item));
        count *= out.shape.back();
    }
    out.data.resize(size_t(count));
    return bool(in.read(reinterpret_cast<char *>(out.data.data()), std::streamsize(count * 4)));
}
