#version 450
// mul_mat (vec) for F32 weights (body: mul_mat_vec.glsl; decode: quant/f32.glsl).
#include "quant/f32.glsl"
#include "mul_mat_vec.glsl"
