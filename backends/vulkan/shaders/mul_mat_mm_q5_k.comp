#version 450
// mul_mat (mm) for Q5_K weights (body: mul_mat_mm.glsl; decode: quant/q5_k.glsl).
#include "quant/q5_k.glsl"
#include "mul_mat_mm.glsl"
