#version 450
// mul_mat (mm) for IQ4_NL weights (body: mul_mat_mm.glsl; decode: quant/iq4_nl.glsl).
#include "quant/iq4_nl.glsl"
#include "mul_mat_mm.glsl"
