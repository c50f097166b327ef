// tests/text/text_fixtures.h — reading the corpus and expected ids made by
// tests/fixtures/text/make_text_fixtures.py.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support.h"

namespace quanta::text::testing {

inline std::string read_file(const std::string & path) {
    std::ifstream f(path, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

inline std::string unhex(const std::string & h) {
    std::string out;
    for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
    return out;
}

// Special-token placeholders of the corpus, per tokenizer family (as in the script).
inline std::string expand_special(std::string t, const std::string & family) {
    const char * names[5][2] = {{"{B}", nullptr}, {"{E}", nullptr}, {"{S}", nullptr}, {"{T}", nullptr}, {"{M}", nullptr}};
    static const char * bytelevel[5] = {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|eot_id|>", "<mask>"};
    static const char * spm[5] = {"<s>", "</s>", "<start_of_turn>", "<end_of_turn>", "<mask>"};
    static const char * gemma3[5] = {"<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>", "<mask>"};
    const char ** v = family == "bytelevel" ? bytelevel : family == "spm" ? spm : gemma3;
    for (int k = 0; k < 5; ++k) {
        const std::string key = names[k][0];
        for (size_t p = t.find(key); p != std::string::npos; p = t.find(key, p)) {
            t.replace(p, key.size(), v[k]);
            p += std::string(v[k]).size();
        }
    }
    return t;
}

// The corpus lines as the C++ tokenizer receives them (invalid UTF-8 stays raw bytes).
inline std::vector<std::string> corpus_lines(const std::string & family) {
    std::vector<std::string> out;
    auto j = nlohmann::json::parse(read_file(source_path("tests/fixtures/text/corpus.json")));
    for (const auto & l : j["lines"]) {
        if (l.contains("text")) out.push_back(l["text"].get<std::string>());
        else if (l.contains("hex")) out.push_back(unhex(l["hex"].get<std::string>()));
        else out.push_back(expand_special(l["special"].get<std::string>(), family));
    }
    return out;
}

struct Expected {
    std::vector<std::vector<int32_t>> ids, ids_no_special;
    std::vector<std::string> decoded;
    std::vector<std::string> extra_lines;  // lines this fixture adds after the corpus (bytelevel_qwen2_nfc)
};

inline Expected expected(const std::string & name) {
    auto j = nlohmann::json::parse(read_file(source_path("tests/fixtures/text/" + name + "/expected.json")));
    Expected e;
    for (const auto & v : j["ids"]) e.ids.push_back(v.get<std::vector<int32_t>>());
    for (const auto & v : j["decoded"]) e.decoded.push_back(v.get<std::string>());
    if (j.contains("extra_lines")) e.extra_lines = j["extra_lines"].get<std::vector<std::string>>();
    e.ids_no_special = e.ids;  // the file lists only the lines where not parsing special tokens changes the ids
    for (auto it = j["ids_no_special"].begin(); it != j["ids_no_special"].end(); ++it) {
        const size_t line = std::stoul(it.key());
        if (line < e.ids_no_special.size()) e.ids_no_special[line] = it.value().get<std::vector<int32_t>>();
    }
    return e;
}

inline std::string show_ids(const std::vector<int32_t> & v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s + "]";
}

}  // namespace quanta::text::testing
