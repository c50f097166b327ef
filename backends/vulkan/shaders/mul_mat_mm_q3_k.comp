#version 450
// mul_mat (mm) for Q3_K weights (body: mul_mat_mm.glsl; decode: quant/q3_k.glsl).
#include "quant/q3_k.glsl"
#include "mul_mat_mm.glsl"
