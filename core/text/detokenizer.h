// core/text/detokenizer.h — streaming decode: token ids in, complete UTF-8 text out.
//
// Runs the tokenizer's decoder steps (Replace, ByteFallback, Fuse, Strip, ByteLevel, Metaspace)
// one token at a time, so that the concatenation of every push() and the final finish() equals
// Tokenizer::decode of all ids (which is built on this class) and equals HF tokenizers.decode:
//   - <0xNN> byte-fallback tokens are held until the run ends, then emitted as their UTF-8 text,
//     or one U+FFFD per byte when the run is not valid UTF-8 (HF's ByteFallback rule);
//   - byte-level text is held back while it ends in an incomplete UTF-8 sequence; invalid bytes
//     become U+FFFD per maximal subpart (from_utf8_lossy);
//   - leading-space rules (Strip after Fuse, Metaspace on the first token) apply to the first
//     token of the stream only.
// Every returned chunk is valid UTF-8. One Detokenizer per stream; it borrows the Tokenizer,
// which must outlive it. Not thread-safe (one stream, one thread).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/text/tokenizer.h"

namespace quanta::text {

class Detokenizer {
public:
    explicit Detokenizer(const Tokenizer & tokenizer, bool skip_special = false);

    // Text completed by this token (possibly empty). Ids out of range are ignored.
    std::string push(int32_t id);
    // Flushes what was held back (pending byte tokens, an incomplete UTF-8 tail); the stream
    // can go on afterwards as if newly started, except that first-token rules stay consumed.
    std::string finish();

private:
    // A decoder step's streaming state.
    struct Stage {
        DecoderStep step;
        bool after_fuse = false;   // kStrip: strips the start of the whole stream, not of each token
        int64_t seen = 0;          // tokens that reached this stage (Metaspace's "first token")
        int32_t stripped = 0;      // kStrip global: characters removed so far
        bool strip_done = false;   // kStrip global: a non-stripped character was seen
        std::vector<uint8_t> bytes;// kByteFallback: pending byte run
    };

    void run(size_t stage, std::string token, std::string & out);
    void flush(size_t stage, std::string & out);
    void emit(const std::string & s, std::string & out);

    const Tokenizer * tok_;
    bool skip_special_;
    std::vector<Stage> stages_;
    std::string lossy_tail_;   // byte-level: incomplete UTF-8 held back
    int64_t joined_ = 0;       // no decoder: pieces so far (joined with " ")
    int32_t current_id_ = -1;  // the id being pushed (ByteLevel reads its precomputed bytes)
};

}  // namespace quanta::text
