#version 450
// mul_mat (mm, f16 tiles and f16 dots) for Q2_K weights (body: mul_mat_mm.glsl; decode: quant/q2_k.glsl).
#define QUANTA_F16 1
#include "quant/q2_k.glsl"
#include "mul_mat_mm.glsl"
