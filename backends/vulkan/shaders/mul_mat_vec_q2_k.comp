#version 450
// mul_mat (vec) for Q2_K weights (body: mul_mat_vec.glsl; decode: quant/q2_k.glsl).
#include "quant/q2_k.glsl"
#include "mul_mat_vec.glsl"
