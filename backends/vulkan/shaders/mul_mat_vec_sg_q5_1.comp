#version 450
// mul_mat (vec, subgroup reduction) for Q5_1 weights (body: mul_mat_vec.glsl; decode: quant/q5_1.glsl).
#define QUANTA_SUBGROUP 1
#include "quant/q5_1.glsl"
#include "mul_mat_vec.glsl"
