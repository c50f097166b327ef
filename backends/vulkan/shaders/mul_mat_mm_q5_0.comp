#version 450
// mul_mat (mm) for Q5_0 weights (body: mul_mat_mm.glsl; decode: quant/q5_0.glsl).
#include "quant/q5_0.glsl"
#include "mul_mat_mm.glsl"
