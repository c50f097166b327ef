#version 450
// mul_mat (vec) for F16 weights (body: mul_mat_vec.glsl; decode: quant/f16.glsl).
#include "quant/f16.glsl"
#include "mul_mat_vec.glsl"
