#version 450
// mul_mat (vec, subgroup reduction) for F16 weights (body: mul_mat_vec.glsl; decode: quant/f16.glsl).
#define QUANTA_SUBGROUP 1
#include "quant/f16.glsl"
#include "mul_mat_vec.glsl"
