#version 450
// mul_mat (mm) for F32 weights (body: mul_mat_mm.glsl; decode: quant/f32.glsl).
#include "quant/f32.glsl"
#include "mul_mat_mm.glsl"
