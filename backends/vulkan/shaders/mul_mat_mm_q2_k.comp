#version 450
// mul_mat (mm) for Q2_K weights (body: mul_mat_mm.glsl; decode: quant/q2_k.glsl).
#include "quant/q2_k.glsl"
#include "mul_mat_mm.glsl"
