#version 450
// mul_mat (mm) for Q4_K weights (body: mul_mat_mm.glsl; decode: quant/q4_k.glsl).
#include "quant/q4_k.glsl"
#include "mul_mat_mm.glsl"
