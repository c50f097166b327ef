#version 450
// mul_mat (vec, subgroup reduction) for IQ4_XS weights (body: mul_mat_vec.glsl; decode: quant/iq4_xs.glsl).
#define QUANTA_SUBGROUP 1
#include "quant/iq4_xs.glsl"
#include "mul_mat_vec.glsl"
