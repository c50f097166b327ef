// core/quanta.h — the library API in one header: load a .qnt model, tokenize, generate.
//
//   auto model = quanta::model::Model::load("gemma.qnt");                 // Result<unique_ptr<Model>>
//   auto cpu = quanta::backends::create_cpu_backend();                    // backends/registry.h
//   auto session = quanta::model::Session::create(**model, *cpu, {});     // KV cache, plans
//   auto tok = quanta::text::Tokenizer::create((*model)->tokenizer());
//   std::vector<int32_t> prompt = tok->encode("The capital of France is");
//   quanta::model::generate(**session, *tok, prompt, {}, [](std::string_view s) { fputs(...); return true; });
//
// Everything that reads untrusted input returns quanta::Status / quanta::Result<T>: check ok(),
// read message(). Objects are not thread-safe unless their header says so; one Model can serve
// several Sessions. examples/simple.cpp is a complete program.
#pragma once

#include "core/model/generate.h"   // generate(), GenerateParams, GenerateStats
#include "core/model/model.h"      // Model::load
#include "core/model/sampler.h"    // SamplerParams
#include "core/model/session.h"    // Session, SessionOptions
#include "core/text/chat_template.h"
#include "core/text/tokenizer.h"   // Tokenizer::create / encode / decode
#include "quant/status.h"
