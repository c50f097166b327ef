#version 450
// mul_mat (vec, subgroup reduction) for Q3_K weights (body: mul_mat_vec.glsl; decode: quant/q3_k.glsl).
#define QUANTA_SUBGROUP 1
#include "quant/q3_k.glsl"
#include "mul_mat_vec.glsl"
