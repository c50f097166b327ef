#version 450
// mul_mat (mm) for Q4_1 weights (body: mul_mat_mm.glsl; decode: quant/q4_1.glsl).
#include "quant/q4_1.glsl"
#include "mul_mat_mm.glsl"
