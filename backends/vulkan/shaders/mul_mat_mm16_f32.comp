#version 450
// mul_mat (mm, f16 tiles and f16 dots) for F32 weights (body: mul_mat_mm.glsl; decode: quant/f32.glsl).
#define QUANTA_F16 1
#include "quant/f32.glsl"
#include "mul_mat_mm.glsl"
