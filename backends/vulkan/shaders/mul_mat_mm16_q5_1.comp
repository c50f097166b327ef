#version 450
// mul_mat (mm, f16 tiles and f16 dots) for Q5_1 weights (body: mul_mat_mm.glsl; decode: quant/q5_1.glsl).
#define QUANTA_F16 1
#include "quant/q5_1.glsl"
#include "mul_mat_mm.glsl"
