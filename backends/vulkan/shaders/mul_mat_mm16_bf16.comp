#version 450
// mul_mat (mm, f16 tiles and f16 dots) for BF16 weights (body: mul_mat_mm.glsl; decode: quant/bf16.glsl).
#define QUANTA_F16 1
#include "quant/bf16.glsl"
#include "mul_mat_mm.glsl"
