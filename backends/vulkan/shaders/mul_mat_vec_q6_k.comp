#version 450
// mul_mat (vec) for Q6_K weights (body: mul_mat_vec.glsl; decode: quant/q6_k.glsl).
#include "quant/q6_k.glsl"
#include "mul_mat_vec.glsl"
