#version 450
// mul_mat (vec, subgroup reduction) for Q4_K weights (body: mul_mat_vec.glsl; decode: quant/q4_k.glsl).
#define QUANTA_SUBGROUP 1
#include "quant/q4_k.glsl"
#include "mul_mat_vec.glsl"
