#version 450
// mul_mat (vec, subgroup reduction) for Q5_K weights (body: mul_mat_vec.glsl; decode: quant/q5_k.glsl).
#define QUANTA_SUBGROUP 1
#include "quant/q5_k.glsl"
#include "mul_mat_vec.glsl"
