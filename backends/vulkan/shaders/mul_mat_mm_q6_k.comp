#version 450
// mul_mat (mm) for Q6_K weights (body: mul_mat_mm.glsl; decode: quant/q6_k.glsl).
#include "quant/q6_k.glsl"
#include "mul_mat_mm.glsl"
