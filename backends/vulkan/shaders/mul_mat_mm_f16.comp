#version 450
// mul_mat (mm) for F16 weights (body: mul_mat_mm.glsl; decode: quant/f16.glsl).
#include "quant/f16.glsl"
#include "mul_mat_mm.glsl"
