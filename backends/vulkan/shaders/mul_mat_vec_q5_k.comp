#version 450
// mul_mat (vec) for Q5_K weights (body: mul_mat_vec.glsl; decode: quant/q5_k.glsl).
#include "quant/q5_k.glsl"
#include "mul_mat_vec.glsl"
