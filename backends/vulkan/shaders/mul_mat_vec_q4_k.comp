#version 450
// mul_mat (vec) for Q4_K weights (body: mul_mat_vec.glsl; decode: quant/q4_k.glsl).
#include "quant/q4_k.glsl"
#include "mul_mat_vec.glsl"
