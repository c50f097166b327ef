#version 450
// mul_mat (vec, subgroup reduction) for Q8_0 weights (body: mul_mat_vec.glsl; decode: quant/q8_0.glsl).
#define QUANTA_SUBGROUP 1
#include "quant/q8_0.glsl"
#include "mul_mat_vec.glsl"
