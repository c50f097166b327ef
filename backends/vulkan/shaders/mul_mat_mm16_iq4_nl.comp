#version 450
// mul_mat (mm, f16 tiles and f16 dots) for IQ4_NL weights (body: mul_mat_mm.glsl; decode: quant/iq4_nl.glsl).
#define QUANTA_F16 1
#include "quant/iq4_nl.glsl"
#include "mul_mat_mm.glsl"
