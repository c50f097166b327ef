#version 450
// mul_mat (mm) for BF16 weights (body: mul_mat_mm.glsl; decode: quant/bf16.glsl).
#include "quant/bf16.glsl"
#include "mul_mat_mm.glsl"
