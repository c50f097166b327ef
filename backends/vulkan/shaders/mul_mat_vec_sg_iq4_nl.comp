#version 450
// mul_mat (vec, subgroup reduction) for IQ4_NL weights (body: mul_mat_vec.glsl; decode: quant/iq4_nl.glsl).
#define QUANTA_SUBGROUP 1
#include "quant/iq4_nl.glsl"
#include "mul_mat_vec.glsl"
