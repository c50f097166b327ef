#version 450
// mul_mat (vec, subgroup reduction) for Q4_0 weights (body: mul_mat_vec.glsl; decode: quant/q4_0.glsl).
#define QUANTA_SUBGROUP 1
#include "quant/q4_0.glsl"
#include "mul_mat_vec.glsl"
