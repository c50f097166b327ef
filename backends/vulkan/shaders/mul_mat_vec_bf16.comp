#version 450
// mul_mat (vec) for BF16 weights (body: mul_mat_vec.glsl; decode: quant/bf16.glsl).
#include "quant/bf16.glsl"
#include "mul_mat_vec.glsl"
