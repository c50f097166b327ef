#version 450
// mul_mat (vec, subgroup reduction) for F32 weights (body: mul_mat_vec.glsl; decode: quant/f32.glsl).
#define QUANTA_SUBGROUP 1
#include "quant/f32.glsl"
#include "mul_mat_vec.glsl"
