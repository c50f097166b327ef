#version 450
// mul_mat (vec) for Q4_0 weights (body: mul_mat_vec.glsl; decode: quant/q4_0.glsl).
#include "quant/q4_0.glsl"
#include "mul_mat_vec.glsl"
