#version 450
// mul_mat (mm) for Q8_0 weights (body: mul_mat_mm.glsl; decode: quant/q8_0.glsl).
#include "quant/q8_0.glsl"
#include "mul_mat_mm.glsl"
