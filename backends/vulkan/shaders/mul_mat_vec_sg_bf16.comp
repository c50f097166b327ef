#version 450
// mul_mat (vec, subgroup reduction) for BF16 weights (body: mul_mat_vec.glsl; decode: quant/bf16.glsl).
#define QUANTA_SUBGROUP 1
#include "quant/bf16.glsl"
#include "mul_mat_vec.glsl"
