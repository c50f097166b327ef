#version 450
// mul_mat (mm, f16 tiles and f16 dots) for Q3_K weights (body: mul_mat_mm.glsl; decode: quant/q3_k.glsl).
#define QUANTA_F16 1
#include "quant/q3_k.glsl"
#include "mul_mat_mm.glsl"
